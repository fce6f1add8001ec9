using System.Net;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>GET /v1/health, and what the service answers outside its routes.</summary>
public abstract partial class JobsContractTests<TBackend>
{
    [SkippableFact]
    public async Task Health_ReturnsHealthyWithTimestampAndVersion_WhenStorageIsUp()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var health = await ExpectJsonAsync(await Client.GetAsync("/v1/health"), HttpStatusCode.OK);

        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.InRange(ParseTime(health.GetProperty("timestamp")), before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.False(string.IsNullOrWhiteSpace(health.GetProperty("version").GetString()));
    }

    [SkippableTheory]
    [InlineData("/v1/health/live")]
    [InlineData("/v1/health/ready")]
    public async Task HealthProbe_ReturnsHealthyWithTimestampAndVersion_WhenSiloIsActiveAndStorageIsUp(string path)
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var health = await ExpectJsonAsync(await Client.GetAsync(path), HttpStatusCode.OK);

        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.InRange(ParseTime(health.GetProperty("timestamp")), before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.False(string.IsNullOrWhiteSpace(health.GetProperty("version").GetString()));
    }

    [SkippableFact]
    public async Task RequestBody_SkipsAUtf8ByteOrderMark_AndStillRejectsOtherEncodings()
    {
        byte[] bom = [0xEF, 0xBB, 0xBF];
        var job = System.Text.Encoding.UTF8.GetBytes("""{"id":"bom-job","user":"alice","nodes":["n1"]}""");
        using var withBom = new ByteArrayContent([.. bom, .. job]);
        withBom.Headers.ContentType = new("application/json");
        var utf16 = System.Text.Encoding.Unicode.GetBytes("""{"cpu_usage":1,"memory_usage_mb":2}""");
        using var wideContent = new ByteArrayContent([0xFF, 0xFE, .. utf16]);
        wideContent.Headers.ContentType = new("application/json");

        await ExpectJsonAsync(await Client.PostAsync("/v1/jobs", withBom), HttpStatusCode.Created);
        var wide = await Client.PostAsync("/v1/jobs/bom-job/metrics", wideContent);

        await ExpectErrorAsync(wide, HttpStatusCode.BadRequest, "invalid_request");
    }

    [SkippableTheory]
    [InlineData("/v1/nope")]
    [InlineData("/v2/jobs")]
    [InlineData("/jobs/some-job/nope")]
    [InlineData("/")]
    [InlineData("/v1/jobs/some-job/nope")]
    [InlineData("/v1/jobs/some-job/metrics/extra")]
    public async Task UnknownRoute_Returns404NotFoundErrorBody_WhenGet(string path)
    {
        var response = await Client.GetAsync(path);

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found", path);
    }

    [SkippableFact]
    public async Task UnknownRoute_Returns404NotFoundErrorBody_WhenPostingJson()
    {
        var response = await Client.PostJsonAsync("/v2/jobs", """{"id":"x","user":"alice","nodes":["n1"]}""");

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [SkippableTheory]
    [InlineData("PUT", "/v1/jobs")]
    [InlineData("DELETE", "/v1/jobs")]
    [InlineData("PATCH", "/v1/jobs")]
    [InlineData("PUT", "/v1/jobs/some-job")]
    [InlineData("POST", "/v1/jobs/some-job")]
    [InlineData("DELETE", "/v1/jobs/some-job/metrics")]
    [InlineData("POST", "/v1/health")]
    [InlineData("POST", "/v1/health/live")]
    [InlineData("DELETE", "/v1/health/ready")]
    public async Task KnownRoute_Returns405MethodNotAllowedErrorBody_WhenMethodIsWrong(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method is "DELETE" ? null : new StringContent("{}", System.Text.Encoding.UTF8, "application/json"),
        };

        var response = await Client.SendAsync(request);

        await ExpectErrorAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed", $"{method} {path}");
    }
}
