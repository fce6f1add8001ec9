using System.Diagnostics;
using Xunit;

namespace HpcJobs.Tests.Support;

/// <summary>
/// Debian's <c>chromium</c> in headless mode, for tests that need what a browser makes of a page.
/// Absent, the test skips, unless REQUIRE_CHROMIUM=1 (CI) makes that a failure.
/// </summary>
public sealed class HeadlessChromium
{
    private HeadlessChromium(string path) => Path = path;

    public string Path { get; }

    public static HeadlessChromium Find()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, "chromium"))
            .FirstOrDefault(File.Exists);
        if (path is null && Environment.GetEnvironmentVariable("REQUIRE_CHROMIUM") == "1")
        {
            throw new InvalidOperationException("REQUIRE_CHROMIUM=1 but chromium is not on PATH (Debian package chromium)");
        }

        Skip.If(path is null, "chromium not on PATH (Debian package chromium); set REQUIRE_CHROMIUM=1 to fail instead");
        return new HeadlessChromium(path!);
    }

    /// <summary>The DOM after the page's scripts ran (the virtual time budget lets polls answer first).</summary>
    public async Task<string> DumpDomAsync(string url, int virtualTimeBudgetMs = 10000) =>
        await RunAsync([$"--virtual-time-budget={virtualTimeBudgetMs}", "--dump-dom", url]);

    /// <summary>A PNG of the page at <paramref name="width"/>×<paramref name="height"/>, written to <paramref name="path"/>.</summary>
    public async Task ScreenshotAsync(string url, string path, int width = 1280, int height = 1600)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        await RunAsync([$"--screenshot={path}", $"--window-size={width},{height}", "--hide-scrollbars", url]);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"chromium wrote no screenshot to {path}");
        }
    }

    private async Task<string> RunAsync(IEnumerable<string> arguments)
    {
        var profile = Directory.CreateTempSubdirectory("hpc-chromium-");
        try
        {
            // As root Chromium needs --no-sandbox.
            var start = new ProcessStartInfo(Path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", $"--user-data-dir={profile.FullName}" }.Concat(arguments))
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish within 60 s: {await errors}");
            }

            return await output;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }
}
