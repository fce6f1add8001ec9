using System.ComponentModel;
using System.Diagnostics;

namespace HpcJobs.Agent.Gpus;

public enum ToolStatus
{
    Ok,
    Missing,
    Failed,
}

public sealed record ToolResult(ToolStatus Status, string Output, string Detail);

/// <summary>Runs a vendor tool with a time limit; a tool that is not installed is <see cref="ToolStatus.Missing"/>.</summary>
public static class ToolRunner
{
    public static async Task<ToolResult> RunAsync(string executable, string arguments, TimeSpan timeout, CancellationToken cancel)
    {
        var start = new ProcessStartInfo(executable, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            return new ToolResult(ToolStatus.Missing, string.Empty, e.Message);
        }

        using (process)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            limit.CancelAfter(timeout);
            var output = process.StandardOutput.ReadToEndAsync(limit.Token);
            var error = process.StandardError.ReadToEndAsync(limit.Token);
            try
            {
                await process.WaitForExitAsync(limit.Token);
                var text = await output;
                var stderr = await error;
                return process.ExitCode == 0
                    ? new ToolResult(ToolStatus.Ok, text, string.Empty)
                    : new ToolResult(ToolStatus.Failed, text, $"exit code {process.ExitCode}: {FirstLine(stderr.Length > 0 ? stderr : text)}");
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                // A hung driver call: stop the one process this agent started, and report nothing this interval.
                process.Kill(entireProcessTree: true);
                return new ToolResult(ToolStatus.Failed, string.Empty, $"no answer within {timeout.TotalSeconds:0} s");
            }
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.AsSpan().Trim();
        var newline = line.IndexOf('\n');
        return (newline < 0 ? line : line[..newline]).Trim().ToString();
    }
}
