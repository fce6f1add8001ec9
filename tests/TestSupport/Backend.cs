using Xunit;

namespace HpcJobs.Tests.Support;

/// <summary>A database the service can run on in tests: a fresh SQLite file or a private PostgreSQL database.</summary>
public interface IBackend : IAsyncDisposable
{
    string Name { get; }

    /// <summary>DATABASE_TYPE, DATABASE_URL and anything else this backend needs, for a new empty database.</summary>
    Task<IReadOnlyDictionary<string, string>> CreateDatabaseAsync();
}

public sealed class SqliteBackend : IBackend
{
    private readonly string _directory = Directory.CreateTempSubdirectory("hpc-jobs-tests-").FullName;

    public string Name => "sqlite";

    public Task<IReadOnlyDictionary<string, string>> CreateDatabaseAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>
        {
            ["DATABASE_TYPE"] = "sqlite",
            ["DATABASE_URL"] = Path.Combine(_directory, $"{Guid.NewGuid():N}.db"),
        });

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a stopping silo; the temp directory is cleaned by the OS.
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>A new database on the shared private PostgreSQL server; skips the test when PostgreSQL is absent.</summary>
public sealed class PostgresBackend : IBackend
{
    public string Name => "postgres";

    public async Task<IReadOnlyDictionary<string, string>> CreateDatabaseAsync()
    {
        var server = await PostgresServer.GetAsync();
        Skip.If(server is null, "PostgreSQL binaries (initdb, pg_ctl) not found; set REQUIRE_POSTGRES=1 to fail instead");
        return new Dictionary<string, string>
        {
            ["DATABASE_TYPE"] = "postgres",
            ["DATABASE_URL"] = await server!.CreateDatabaseAsync(),
            ["DATABASE_POOL_SIZE"] = "10",
        };
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
