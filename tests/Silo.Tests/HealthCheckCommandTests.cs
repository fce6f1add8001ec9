using System.Diagnostics;

namespace HpcJobs.Silo.Tests;

/// <summary><c>HpcJobs.Silo --health-check [live|ready]</c>, the image's HEALTHCHECK, against a running service.</summary>
public sealed class HealthCheckCommandTests(ServiceProcessFixture fixture) : IClassFixture<ServiceProcessFixture>
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("live", 0)]
    [InlineData("ready", 0)]
    [InlineData("sideways", 2)]
    public async Task HealthCheck_ExitsWithTheProbesVerdict_WhenTheServiceRuns(string probe, int exitCode)
    {
        Assert.Equal(exitCode, await RunAsync(fixture.Service.Port, probe));
    }

    [Fact]
    public async Task HealthCheck_Exits1_WhenNothingListens()
    {
        Assert.Equal(1, await RunAsync(FreePort.Next(), "live"));
    }

    private static async Task<int> RunAsync(int port, string probe)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{ServiceProcess.SiloAssembly()}\" --health-check {probe}")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
