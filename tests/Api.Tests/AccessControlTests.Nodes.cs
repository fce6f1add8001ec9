using System.Net;
using System.Net.Http.Headers;

namespace HpcJobs.Api.Tests;

public sealed partial class AccessControlTests
{
    public static TheoryData<string, string> NodeForbiddenRoutes => new()
    {
        { "GET", "/v1/jobs" },
        { "GET", "/v1/jobs/{id}" },
        { "GET", "/v1/jobs/{id}/metrics" },
        { "GET", "/metrics" },
        { "POST", "/v1/jobs" },
        { "PATCH", "/v1/jobs/{id}" },
        { "DELETE", "/v1/jobs/{id}" },
    };

    [SkippableFact]
    public async Task NodeToken_MayPostSamples_OnBothIngestRoutes()
    {
        var id = await CreateAsync();
        using var single = await SendWithAsync(HttpMethod.Post, $"/v1/jobs/{id}/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""", TokenServiceFixture.NodeToken);
        using var batch = await SendWithAsync(HttpMethod.Post, "/v1/metrics", $$"""{"samples":[{"job_id":"{{id}}","cpu_usage":2,"memory_usage_mb":2}]}""", TokenServiceFixture.NodeToken);

        Assert.Equal(HttpStatusCode.Created, single.StatusCode);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Contains("\"accepted\":1", await batch.Content.ReadAsStringAsync());
    }

    [SkippableTheory]
    [MemberData(nameof(NodeForbiddenRoutes))]
    public async Task NodeToken_Answers403Forbidden_OutsideIngest(string method, string route)
    {
        using var response = await SendAsync(method, route, TokenServiceFixture.NodeToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"error\":\"forbidden\"", await response.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task NodeToken_ChangesNothing_WhenForbidden()
    {
        var id = await CreateAsync();
        using var denied = await SendWithAsync(HttpMethod.Patch, $"/v1/jobs/{id}", """{"state":"failed"}""", TokenServiceFixture.NodeToken);
        using var job = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{id}", null, TokenServiceFixture.ReadToken);

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("\"state\":\"running\"", await job.Content.ReadAsStringAsync());
    }

    private async Task<HttpResponseMessage> SendWithAsync(HttpMethod method, string path, string? json, string? token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = Json(json);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await service.Client.SendAsync(request);
    }
}
