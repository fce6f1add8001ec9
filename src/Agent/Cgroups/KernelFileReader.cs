using System.Text;

namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// Reads small kernel files into one reused buffer: a collection reads several hundred of them per
/// interval, and this keeps it from allocating a string for each. Not thread-safe; the span a read
/// returns is valid until the next read.
/// </summary>
public sealed class KernelFileReader
{
    private readonly byte[] _bytes = new byte[64 * 1024];
    private readonly char[] _chars = new char[64 * 1024];

    /// <summary>The file's text (at most its first 64 KiB, in whole lines); false when it is missing or unreadable.</summary>
    public bool TryRead(string path, out ReadOnlySpan<char> text)
    {
        text = default;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var total = 0;
            int read;

            // cgroup files report length 0, so their size is unknown; a read that does not fill the
            // buffer has reached the end (kernfs and seq_file hand over everything they have at once).
            while (total < _bytes.Length && (read = RandomAccess.Read(handle, _bytes.AsSpan(total), total)) > 0)
            {
                total += read;
                if (read < _bytes.Length - total + read)
                {
                    break;
                }
            }

            if (total == _bytes.Length && _bytes.AsSpan(0, total).LastIndexOf((byte)'\n') is var end and >= 0)
            {
                // Cut short: never hand over a half line (a pid missing its last digits is another pid).
                total = end + 1;
            }

            var count = Encoding.ASCII.GetChars(_bytes.AsSpan(0, total), _chars);
            text = _chars.AsSpan(0, count);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A job's cgroup vanishes when the job ends, between discovery and this read.
            return false;
        }
    }

    public ulong? ReadValue(string path) => TryRead(path, out var text) ? SingleValue.Parse(text) : null;

    public ulong? ReadKey(string path, string key) => TryRead(path, out var text) ? KeyedValues.Find(text, key) : null;

    public int? ReadCpuCount(string path) => TryRead(path, out var text) ? CpuList.Count(text) : null;
}
