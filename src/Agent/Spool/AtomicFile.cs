using System.Runtime.InteropServices;

namespace HpcJobs.Agent.Spool;

/// <summary>
/// Write-then-rename: a reader (or the agent after a crash) sees either the whole file or none of it.
/// The data is synced before the rename and the directory after it, so a power loss keeps it too.
/// </summary>
public static partial class AtomicFile
{
    public const string TempSuffix = ".tmp";

    public static void Write(string directory, string name, byte[] content)
    {
        var final = Path.Combine(directory, name);
        var temp = Path.Combine(directory, "." + name + "." + Environment.ProcessId + TempSuffix);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, final, overwrite: true);
        SyncDirectory(directory);
    }

    /// <summary>Leftovers of writes of <paramref name="prefix"/>* files a crash interrupted: never renamed, so never part of the spool.</summary>
    public static int DeleteLeftovers(string directory, string prefix)
    {
        var count = 0;
        foreach (var temp in Directory.EnumerateFiles(directory, "." + prefix + "*" + TempSuffix))
        {
            File.Delete(temp);
            count++;
        }

        return count;
    }

    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }

        _ = Fsync(fd);
        _ = Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
