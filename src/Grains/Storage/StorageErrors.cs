using Microsoft.Data.Sqlite;
using Npgsql;

namespace HpcJobs.Grains.Storage;

/// <summary>
/// The one rule for which database failures are transient — the database is down, unreachable,
/// out of space or shutting down, so the client should retry (503) — and which are bugs, such as a
/// constraint violation or a missing table, which retrying cannot fix (500, logged with its stack).
/// </summary>
public static class StorageErrors
{
    public static bool IsTransient(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case StorageUnavailableException or TimeoutException or System.Net.Sockets.SocketException or IOException:
                    return true;
                case SqliteException sqlite:
                    return IsTransient(sqlite);
                case PostgresException postgres:
                    return IsTransient(postgres.SqlState);
                case NpgsqlException npgsql when npgsql.IsTransient:
                    return true;
            }
        }

        return false;
    }

    /// <summary>SQLite primary result codes (the low byte of extended codes) that mean the file cannot take the write now.</summary>
    private static bool IsTransient(SqliteException error) => (error.SqliteErrorCode & 0xFF) switch
    {
        5 or 6 => true,   // SQLITE_BUSY, SQLITE_LOCKED
        7 => true,        // SQLITE_NOMEM
        8 => true,        // SQLITE_READONLY (a read-only file or directory)
        10 => true,       // SQLITE_IOERR
        13 => true,       // SQLITE_FULL
        14 => true,       // SQLITE_CANTOPEN
        15 => true,       // SQLITE_PROTOCOL
        _ => false,
    };

    /// <summary>
    /// SQLSTATE classes 08 (connection), 53 (insufficient resources: disk full, out of memory, too many
    /// connections), 57P (operator intervention: shutdown, crash recovery), 58 (system I/O), and the
    /// serialization failures and deadlocks that a retry resolves (40001, 40P01).
    /// </summary>
    private static bool IsTransient(string state) =>
        state.StartsWith("08", StringComparison.Ordinal)
        || state.StartsWith("53", StringComparison.Ordinal)
        || state.StartsWith("57P", StringComparison.Ordinal)
        || state.StartsWith("58", StringComparison.Ordinal)
        || state is "40001" or "40P01" or "57014";
}

/// <summary><see cref="StorageErrors.IsTransient"/> for the routes, which see only <see cref="ITransientFailures"/>.</summary>
public sealed class StorageTransientFailures : ITransientFailures
{
    public bool IsTransient(Exception error) => StorageErrors.IsTransient(error);
}
