using System.Diagnostics;
using System.Text;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// Runs the real <c>contrib/slurm</c> scripts with real bash, the way slurmd does: a clean
/// environment holding only the Slurm variables given, no search path of the caller's, and a
/// private sandbox (defaults file, spool directory, a fake <c>logger</c> that records the syslog
/// line instead of writing to syslog).
/// </summary>
internal sealed class SlurmHook : IDisposable
{
    private SlurmHook(string root)
    {
        Root = root;
        Directory.CreateDirectory(BinDirectory);
        File.WriteAllText(Path.Combine(BinDirectory, "logger"), $"#!/bin/bash\nprintf '%s\\n' \"$*\" >> '{LoggerFile}'\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(BinDirectory, "logger"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public string Root { get; }

    public string SpoolDirectory => Path.Combine(Root, "spool");

    public string DefaultsFile => Path.Combine(Root, "hpc-jobs.defaults");

    private string BinDirectory => Path.Combine(Root, "bin");

    private string LoggerFile => Path.Combine(Root, "logger.log");

    public static SlurmHook Create() => new(Directory.CreateTempSubdirectory("hpc-slurm-kit-").FullName);

    /// <summary>The kit's directory in this checkout.</summary>
    public static string KitDirectory
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HpcJobs.slnx")))
            {
                directory = directory.Parent;
            }

            return directory is null
                ? throw new InvalidOperationException("repository root (HpcJobs.slnx) not found above " + AppContext.BaseDirectory)
                : Path.Combine(directory.FullName, "contrib", "slurm");
        }
    }

    public string TokenFile => Path.Combine(Root, "token");

    /// <summary>
    /// Writes the defaults file the scripts read (<c>/etc/default/hpc-jobs</c> on a node), and the
    /// token file it names when <paramref name="token"/> is given.
    /// </summary>
    public void WriteDefaults(string url, string? token)
    {
        var text = new StringBuilder();
        text.Append("# written by the test\n");
        text.Append($"HPC_JOBS_URL=\"{url}\"\n");
        if (token is not null)
        {
            File.WriteAllText(TokenFile, token + "\n");
            text.Append($"HPC_JOBS_TOKEN_FILE={TokenFile}\n");
        }

        File.WriteAllText(DefaultsFile, text.ToString());
    }

    /// <summary>Syslog lines the scripts wrote through <c>logger</c>.</summary>
    public IReadOnlyList<string> LoggerLines =>
        File.Exists(LoggerFile) ? File.ReadAllLines(LoggerFile) : [];

    /// <summary>Every file in the spool directory, names only, sorted.</summary>
    public IReadOnlyList<string> SpoolFiles =>
        Directory.Exists(SpoolDirectory)
            ? [.. Directory.GetFiles(SpoolDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!]
            : [];

    /// <summary>Runs <c>prolog.sh</c> or <c>epilog.sh</c> (or a script at an absolute path) with <paramref name="environment"/> (Slurm's variables and overrides).</summary>
    public async Task<HookRun> RunAsync(string script, IReadOnlyDictionary<string, string> environment, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("/bin/bash", [Path.IsPathRooted(script) ? script : Path.Combine(KitDirectory, script)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Root,
        };
        start.Environment.Clear();
        // slurmd gives no PATH at all; the fake logger must come first, so the test sets one.
        start.Environment["PATH"] = BinDirectory + ":/usr/bin:/bin";
        start.Environment["HPC_JOBS_DEFAULTS"] = DefaultsFile;
        start.Environment["HPC_JOBS_SPOOL_DIR"] = SpoolDirectory;
        // Keep the machine's own cgroups and devices out of the events unless a test sets them.
        start.Environment["HPC_JOBS_CGROUP_ROOT"] = Path.Combine(Root, "no-cgroup");
        start.Environment["HPC_JOBS_DEV_DIR"] = Path.Combine(Root, "no-dev");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var logged = LoggerLines.Count;
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish within {timeout}");
        }

        watch.Stop();
        return new HookRun(process.ExitCode, await stdout, await stderr, watch.Elapsed, [.. LoggerLines.Skip(logged)]);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean.
        }
    }
}

/// <summary>One run of a hook: its exit status, output, duration and the syslog lines it wrote.</summary>
internal sealed record HookRun(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, IReadOnlyList<string> Syslog);
