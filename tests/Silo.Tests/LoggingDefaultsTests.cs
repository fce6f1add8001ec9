using System.Net;
using System.Text;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// Out of the box (Information), the service must not log two lines per HTTP request: at thousands of
/// samples a second that floods the log and costs CPU. An operator's own level still wins.
/// </summary>
public sealed class LoggingDefaultsTests
{
    [Fact]
    public async Task DefaultLogging_LogsNoLinePerRequest_ButKeepsInformation()
    {
        var output = await RunRequestsAsync(new Dictionary<string, string>());

        Assert.Contains("info:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request starting", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request finished", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperatorLogLevel_OverridesTheDefault()
    {
        var output = await RunRequestsAsync(new Dictionary<string, string> { ["Logging__LogLevel__Microsoft.AspNetCore"] = "Information" });

        Assert.Contains("Request starting", output, StringComparison.Ordinal);
    }

    private static async Task<string> RunRequestsAsync(Dictionary<string, string> settings)
    {
        var directory = Directory.CreateTempSubdirectory("hpc-logging-");
        try
        {
            settings["DATABASE_URL"] = Path.Combine(directory.FullName, "jobs.db");
            settings["Logging__LogLevel__Default"] = "Information";
            settings["Logging__LogLevel__Orleans"] = "Warning";
            await using var service = await ServiceProcess.StartAsync(settings);
            using var created = await service.Client.PostAsync(
                "/v1/jobs", new StringContent("""{"id":"log-1","user":"u","nodes":["n1"]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            for (var i = 0; i < 5; i++)
            {
                using var response = await service.Client.GetAsync("/v1/jobs/log-1");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await service.TerminateAsync(TimeSpan.FromSeconds(20));
            return service.Output;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
