using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;

namespace HpcJobs.Tests.Support;

/// <summary>
/// The real service as a child process (<c>dotnet HpcJobs.Silo.dll</c>) on loopback ports, for
/// restart, crash (SIGKILL), shutdown (SIGTERM) and multi-silo tests.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the service with <paramref name="settings"/> and waits until /v1/health answers 200.</summary>
    public static async Task<ServiceProcess> StartAsync(
        IReadOnlyDictionary<string, string> settings, TimeSpan? timeout = null, string arguments = "")
    {
        var port = settings.TryGetValue("PORT", out var p) ? int.Parse(p) : FreePort.Next();
        var start = new ProcessStartInfo("dotnet", $"\"{SiloAssembly()}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["PORT"] = port.ToString();
        start.Environment["HOST"] = "127.0.0.1";
        start.Environment["ADVERTISED_IP"] = "127.0.0.1";
        start.Environment["SILO_PORT"] = FreePort.Next().ToString();
        start.Environment["GATEWAY_PORT"] = FreePort.Next().ToString();
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Orleans"] = "Warning";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var service = new ServiceProcess(Process.Start(start)!, port);
        await service.WaitHealthyAsync(timeout ?? TimeSpan.FromSeconds(60));
        return service;
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"service exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await Client.GetAsync("/v1/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"service not healthy within {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL: no flush, no goodbye — what a crash or OOM kill looks like.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit; returns how long the shutdown took.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        _ = SysKill(_process.Id, 15);
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw new TimeoutException($"service did not stop within {timeout} of SIGTERM:\n{Output}");
        }

        return watch.Elapsed;
    }

    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    /// <summary>The repository's root: the folder holding HpcJobs.slnx above the test's build output.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HpcJobs.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName
            ?? throw new InvalidOperationException("repository root (HpcJobs.slnx) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The built service next to the test's build output (same configuration).</summary>
    public static string SiloAssembly()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";
        var path = Path.Combine(RepositoryRoot(), "src", "Silo", "bin", configuration, "net10.0", "HpcJobs.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the service first", path);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
