using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The database's write-ahead log, opened for <see cref="Sync"/> alone: an <c>fdatasync</c> of the
/// WAL is what SQLite's <c>synchronous = FULL</c> does at each commit, done here by the sync pipeline
/// instead of the writer. One handle for the life of the writer: SQLite keeps (and reuses from its
/// start after a checkpoint) the same file while a connection is open, and a sync of any handle of a
/// file flushes all of its written pages. Linux only (where the service runs); elsewhere the writer
/// keeps <c>synchronous = FULL</c>.
/// </summary>
internal sealed partial class SqliteWalFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    public SqliteWalFile(string databasePath) =>
        _handle = File.OpenHandle(databasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Waits until every page written to the log so far is on the disk.</summary>
    public void Sync()
    {
        if (FDataSync(_handle) != 0)
        {
            throw new IOException($"fdatasync of the SQLite WAL failed: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
    }

    public void Dispose() => _handle.Dispose();

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(SafeFileHandle handle);
}
