using System.Diagnostics;
using Npgsql;

namespace HpcJobs.Tests.Support;

/// <summary>
/// A private PostgreSQL server for the test run: initdb into a temporary directory, pg_ctl start on
/// a free loopback port, stopped when the test process exits. When the binaries are missing the
/// PostgreSQL tests skip — unless REQUIRE_POSTGRES=1 (set by CI), which turns absence into failure.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer?>> Instance = new(StartAsync);

    private PostgresServer(string directory, int port, bool asPostgresUser)
    {
        Directory = directory;
        Port = port;
        AsPostgresUser = asPostgresUser;
    }

    private readonly List<Action> _stopFirst = [];

    public static bool Required => Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") == "1";

    public string Directory { get; }

    public int Port { get; }

    internal bool AsPostgresUser { get; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";

    /// <summary>The shared server, or null (test skipped) when PostgreSQL is not installed and not required.</summary>
    public static async Task<PostgresServer?> GetAsync()
    {
        var server = await Instance.Value;
        if (server is null && Required)
        {
            throw new InvalidOperationException("REQUIRE_POSTGRES=1 but initdb/pg_ctl were not found on PATH");
        }

        return server;
    }

    /// <summary>A new empty database; returns its connection string in the URL form the service accepts.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"postgres://postgres:unused@127.0.0.1:{Port}/{name}?sslmode=disable";
    }

    /// <summary>Runs <paramref name="stop"/> at exit before the server stops (a pooler in front of it, say).</summary>
    internal void StopFirstAtExit(Action stop) => _stopFirst.Add(stop);

    /// <summary>Stops the server (fast shutdown), for outage tests; <see cref="Start"/> brings it back.</summary>
    public void Stop(string mode = "fast") => PgCtl($"stop -m {mode} -w");

    public void Start() => PgCtl("start -w -t 60");

    private static async Task<PostgresServer?> StartAsync()
    {
        var initdb = FindOnPath("initdb");
        if (initdb is null || FindOnPath("pg_ctl") is null)
        {
            return null;
        }

        var root = System.IO.Directory.CreateTempSubdirectory("hpc-pg-").FullName;
        var asPostgres = Environment.UserName == "root";
        if (asPostgres)
        {
            Run("chown", $"-R postgres {root}", asPostgresUser: false);
        }

        var server = new PostgresServer(root, FreePort.Next(), asPostgres);
        Run("initdb", $"-D {root}/data -U postgres --auth=trust --no-sync -E UTF8", asPostgres);
        server.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                foreach (var stop in server._stopFirst)
                {
                    stop();
                }

            }
            catch (Exception)
            {
                // Best effort at exit.
            }

            server.StopAndRemove();
        };
        await Task.CompletedTask;
        return server;
    }

    /// <summary>
    /// Stops the server and removes its directory in a shell of its own: the test host may be ended
    /// while its exit handlers run, and a directory left behind is half a gigabyte of /tmp.
    /// </summary>
    private void StopAndRemove()
    {
        var stop = $"pg_ctl -D {Directory}/data -m immediate -w stop";
        var script = (AsPostgresUser ? $"runuser -u postgres -- {stop}" : stop) + $" >/dev/null 2>&1; rm -rf {Directory}";
        using var shell = Process.Start(new ProcessStartInfo("sh") { ArgumentList = { "-c", script }, UseShellExecute = false })!;
        shell.WaitForExit(TimeSpan.FromSeconds(30));
    }

    private void PgCtl(string command) => Run(
        "pg_ctl",
        $"-D {Directory}/data -l {Directory}/log -o \"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on\" {command}",
        AsPostgresUser);

    internal static void Run(string file, string arguments, bool asPostgresUser)
    {
        var start = asPostgresUser
            ? new ProcessStartInfo("runuser", $"-u postgres -- {file} {arguments}")
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {output.Result}{error.Result}");
        }
    }

    internal static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
