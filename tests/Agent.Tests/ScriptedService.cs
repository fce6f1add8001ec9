using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent.Tests;

public sealed record RecordedRequest(string Method, string Path, string Body, string? Authorization, string? Source);

/// <summary>
/// A real HTTP server on a loopback port that answers what the test scripts per request, for the
/// answers the real service cannot be made to give on demand (429, a 503 on one event, a route
/// that does not exist yet). Every request is recorded in arrival order.
/// </summary>
public sealed class ScriptedService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private ScriptedService(WebApplication app, int port)
    {
        _app = app;
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }

    /// <summary>Answers by path; the default accepts every sample of a batch and 200s the rest.</summary>
    public Func<RecordedRequest, (int Status, string Body)> Answer { get; set; } = DefaultAnswer;

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public static async Task<ScriptedService> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var service = new ScriptedService(app, port);
        app.Run(service.HandleAsync);
        await app.StartAsync();
        return service;
    }

    public static (int Status, string Body) DefaultAnswer(RecordedRequest request) =>
        request.Path == "/v1/metrics"
            ? (200, $$"""{"accepted": {{System.Text.Json.JsonDocument.Parse(request.Body).RootElement.GetProperty("samples").GetArrayLength()}}, "duplicates": 0, "rejected": []}""")
            : (200, """{"status": "ok"}""");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var request = new RecordedRequest(http.Request.Method, http.Request.Path.Value ?? "", await reader.ReadToEndAsync(),
            http.Request.Headers.Authorization.FirstOrDefault(), http.Request.Headers["X-Source"].FirstOrDefault());
        _requests.Enqueue(request);
        var (status, body) = Answer(request);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body);
    }
}
