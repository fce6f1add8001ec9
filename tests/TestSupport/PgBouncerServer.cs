using System.Globalization;
using System.Net.Sockets;
using Xunit;

namespace HpcJobs.Tests.Support;

/// <summary>
/// Debian's <c>pgbouncer</c> in transaction pooling mode in front of the private PostgreSQL server,
/// started once per test process (as the postgres user when the tests run as root: PgBouncer refuses
/// root) and stopped by its PID at exit. Skips when the binary is missing, unless
/// REQUIRE_PGBOUNCER=1 (set by CI).
/// </summary>
public sealed class PgBouncerServer
{
    private static readonly Lazy<Task<PgBouncerServer?>> Instance = new(StartAsync);

    private PgBouncerServer(PostgresServer postgres, int port)
    {
        Postgres = postgres;
        Port = port;
    }

    public static bool Required => Environment.GetEnvironmentVariable("REQUIRE_PGBOUNCER") == "1";

    public PostgresServer Postgres { get; }

    public int Port { get; }

    /// <summary>The shared PgBouncer, or a skipped test when pgbouncer (or PostgreSQL) is not installed and not required.</summary>
    public static async Task<PgBouncerServer> GetAsync()
    {
        var postgres = await PostgresServer.GetAsync();
        Skip.If(postgres is null, "PostgreSQL binaries (initdb, pg_ctl) not found; set REQUIRE_POSTGRES=1 to fail instead");
        var server = await Instance.Value;
        if (server is null && Required)
        {
            throw new InvalidOperationException("REQUIRE_PGBOUNCER=1 but pgbouncer was not found on PATH or in /usr/sbin");
        }

        Skip.If(server is null, "pgbouncer not found (Debian package pgbouncer); set REQUIRE_PGBOUNCER=1 to fail instead");
        return server!;
    }

    /// <summary>A new empty database, created directly on PostgreSQL; the URL returned goes through PgBouncer.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var direct = await Postgres.CreateDatabaseAsync();
        return direct.Replace($"127.0.0.1:{Postgres.Port}/", $"127.0.0.1:{Port}/", StringComparison.Ordinal);
    }

    private static async Task<PgBouncerServer?> StartAsync()
    {
        var binary = PostgresServer.FindOnPath("pgbouncer") ?? (File.Exists("/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : null);
        var postgres = await PostgresServer.GetAsync();
        if (binary is null || postgres is null)
        {
            return null;
        }

        var root = Directory.CreateTempSubdirectory("hpc-pgbouncer-").FullName;
        var port = FreePort.Next();
        var config = Path.Combine(root, "pgbouncer.ini");
        var pidFile = Path.Combine(root, "pgbouncer.pid");

        // Transaction pooling, the mode that shares few server connections among many clients and
        // the one that breaks session state: what the service must work under. The server pool is
        // kept well below the clients' total so that clients really do share server connections.
        await File.WriteAllTextAsync(config, $"""
            [databases]
            * = host=127.0.0.1 port={postgres.Port} user=postgres

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = any
            pool_mode = transaction
            max_client_conn = 2000
            default_pool_size = 8
            reserve_pool_size = 2
            max_db_connections = 200
            logfile = {root}/pgbouncer.log
            pidfile = {pidFile}
            ignore_startup_parameters = extra_float_digits
            """);
        if (postgres.AsPostgresUser)
        {
            PostgresServer.Run("chown", $"-R postgres {root}", asPostgresUser: false);
        }

        // -d: daemonise; the daemon writes its PID to the pidfile, which may be a moment after the
        // parent has exited, and then listens.
        PostgresServer.Run(binary, $"-d {config}", postgres.AsPostgresUser);
        var pid = await ReadPidAsync(pidFile);
        postgres.StopFirstAtExit(() =>
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                Directory.Delete(root, recursive: true);
            }
            catch (Exception)
            {
                // Best effort at exit.
            }
        });

        await WaitListeningAsync(port);
        return new PgBouncerServer(postgres, port);
    }

    private static async Task<int> ReadPidAsync(string pidFile)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                return pid;
            }

            if (attempt == 100)
            {
                throw new InvalidOperationException($"pgbouncer wrote no PID to {pidFile} within 10 s");
            }

            await Task.Delay(100);
        }
    }

    private static async Task WaitListeningAsync(int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }
}

/// <summary>A new database on the private PostgreSQL server, reached through PgBouncer in transaction pooling mode.</summary>
public sealed class PgBouncerBackend : IBackend
{
    public string Name => "pgbouncer";

    public async Task<IReadOnlyDictionary<string, string>> CreateDatabaseAsync()
    {
        var server = await PgBouncerServer.GetAsync();
        return new Dictionary<string, string>
        {
            ["DATABASE_TYPE"] = "postgres",
            ["DATABASE_URL"] = await server.CreateDatabaseAsync(),
            ["DATABASE_POOLER"] = "pgbouncer",
            ["DATABASE_POOL_SIZE"] = "10",
        };
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
