using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// promtool and prometheus (Debian package prometheus). Absent, their tests skip — unless
/// REQUIRE_POSTGRES=1, CI's switch for "every external tool is installed", which makes absence a failure.
/// </summary>
public static class PrometheusTools
{
    public static string Require(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        if (path is null && PostgresServer.Required)
        {
            throw new InvalidOperationException($"REQUIRE_POSTGRES=1 but {name} is not on PATH (Debian package prometheus)");
        }

        Skip.If(path is null, $"{name} not on PATH (Debian package prometheus); set REQUIRE_POSTGRES=1 to fail instead");
        return path!;
    }

    /// <summary>Runs a tool to completion with <paramref name="input"/> on stdin; returns its exit code and stdout + stderr.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, string input, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{file} did not finish within {timeout}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>A Prometheus server as a child process, scraping one target every second, on a private data directory.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public HttpClient Client { get; }

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

    /// <summary>Starts Prometheus scraping http://<paramref name="target"/>/metrics and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string binary, string target, TimeSpan timeout)
    {
        var directory = Directory.CreateTempSubdirectory("hpc-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: hpc-jobs
                metrics_path: /metrics
                static_configs:
                  - targets: ['{target}']
            """);
        var port = FreePort.Next();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        start.ArgumentList.Add($"--config.file={config}");
        start.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(directory, "data")}");
        start.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
        var server = new PrometheusServer(Process.Start(start)!, directory, port);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (server._process.HasExited)
            {
                var (code, output) = (server._process.ExitCode, server.Output);
                await server.DisposeAsync();
                throw new InvalidOperationException($"prometheus exited with {code}:\n{output}");
            }

            try
            {
                using var ready = await server.Client.GetAsync("/-/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (watch.Elapsed > timeout)
            {
                var output = server.Output;
                await server.DisposeAsync();
                throw new TimeoutException($"prometheus not ready within {timeout}:\n{output}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>An instant query; the value of its one result, or null while it has none.</summary>
    public async Task<double?> QueryAsync(string promql)
    {
        using var response = await Client.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (!response.IsSuccessStatusCode || body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"query {promql} failed: {(int)response.StatusCode} {body.GetRawText()}");
        }

        var result = body.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() switch
        {
            0 => null,
            1 => double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture),
            _ => throw new InvalidOperationException($"query {promql} returned {result.GetArrayLength()} series: {result.GetRawText()}"),
        };
    }

    /// <summary>The scrape target's health and last error, for a failure message.</summary>
    public async Task<string> TargetsAsync()
    {
        try
        {
            return await Client.GetStringAsync("/api/v1/targets");
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left to the OS's temp cleanup.
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
