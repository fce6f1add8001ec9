using System.Globalization;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent.Spool;

/// <summary>
/// SPOOL_DIR: batches the service did not take, one file each (<c>batch-SEQUENCE.json</c>, the exact
/// request body), replayed oldest first. The sequence continues from the highest file on disk, so the
/// order survives restarts and clock changes. The spool never holds more than SPOOL_MAX_MB: the
/// oldest files go first, counted and logged.
/// </summary>
public sealed class BatchSpool(SpoolOptions options, ILogger logger)
{
    private const string Prefix = "batch-";
    private const string Suffix = ".json";
    private long _sequence;
    private bool _ready;

    public long DroppedFiles { get; private set; }

    public string Directory => options.Directory;

    /// <summary>Creates the directory, removes interrupted writes, and finds where the sequence stands.</summary>
    public void Open()
    {
        System.IO.Directory.CreateDirectory(options.Directory);
        var leftovers = AtomicFile.DeleteLeftovers(options.Directory, Prefix);
        if (leftovers > 0)
        {
            AgentLog.SpoolLeftoversRemoved(logger, leftovers, options.Directory);
        }

        foreach (var file in Pending())
        {
            _sequence = Math.Max(_sequence, Sequence(file) ?? 0);
        }

        _ready = true;
    }

    /// <summary>Spooled batch files, oldest first.</summary>
    public List<string> Pending()
    {
        if (!System.IO.Directory.Exists(options.Directory))
        {
            return [];
        }

        var files = System.IO.Directory.GetFiles(options.Directory, Prefix + "*" + Suffix)
            .Where(f => Sequence(f) is not null)
            .ToList();
        files.Sort(static (a, b) => Sequence(a)!.Value.CompareTo(Sequence(b)!.Value));
        return files;
    }

    /// <summary>Spools a batch; false when it could not be written (the disk is full or read-only).</summary>
    public bool TryAdd(byte[] body, int samples)
    {
        try
        {
            if (!_ready)
            {
                Open();
            }

            var name = Prefix + (++_sequence).ToString("D12", CultureInfo.InvariantCulture) + Suffix;
            AtomicFile.Write(options.Directory, name, body);
            AgentLog.BatchSpooled(logger, samples, name);
            Trim();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AgentLog.SpoolWriteFailed(logger, options.Directory, e.Message);
            return false;
        }
    }

    /// <summary>Replaces a spooled batch by what is left of it to send, atomically.</summary>
    public void Replace(string file, byte[] body) => AtomicFile.Write(options.Directory, Path.GetFileName(file), body);

    public static void Remove(string file) => File.Delete(file);

    private void Trim()
    {
        var files = Pending();
        var sizes = files.Select(f => new FileInfo(f).Length).ToList();
        var total = sizes.Sum();
        var dropped = 0;
        long droppedBytes = 0;
        for (var i = 0; i < files.Count && total > options.MaxBytes; i++)
        {
            File.Delete(files[i]);
            total -= sizes[i];
            droppedBytes += sizes[i];
            dropped++;
        }

        if (dropped > 0)
        {
            DroppedFiles += dropped;
            AgentLog.SpoolTrimmed(logger, dropped, droppedBytes, options.MaxBytes / (1024 * 1024), DroppedFiles);
        }
    }

    private static long? Sequence(string file)
    {
        var name = Path.GetFileName(file.AsSpan());
        if (!name.StartsWith(Prefix) || !name.EndsWith(Suffix))
        {
            return null;
        }

        return long.TryParse(name[Prefix.Length..^Suffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }
}
