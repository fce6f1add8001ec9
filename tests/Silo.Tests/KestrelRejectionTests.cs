using System.Net.Sockets;
using System.Text;

namespace HpcJobs.Silo.Tests;

/// <summary>One real service process (Kestrel, not the test server) on SQLite, shared by a test class.</summary>
public sealed class ServiceProcessFixture : IAsyncLifetime
{
    private readonly SqliteBackend _backend = new();

    public ServiceProcess Service { get; private set; } = null!;

    public async Task InitializeAsync() => Service = await ServiceProcess.StartAsync(await _backend.CreateDatabaseAsync());

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await _backend.DisposeAsync();
    }
}

/// <summary>
/// What Kestrel rejects itself, sent over a raw socket (HttpClient would re-encode or refuse the
/// requests). Errors in the body reach the pipeline and carry the contract's error body; errors
/// in the request line or headers are answered by Kestrel before any middleware runs, with no
/// body (docs/security.md, "Requests Kestrel rejects").
/// </summary>
public sealed class KestrelRejectionTests(ServiceProcessFixture fixture) : IClassFixture<ServiceProcessFixture>
{
    [Theory]
    [InlineData("POST /v1/metrics HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "invalid_request")]
    [InlineData("GET /v1/jobs/a%01b HTTP/1.1\r\nHost: localhost\r\n\r\n", "validation_error")]
    [InlineData("GET /v1/jobs/a\u0001b HTTP/1.1\r\nHost: localhost\r\n\r\n", "validation_error")]
    public async Task MalformedRequest_Answers400WithContractErrorBody_WhenKestrelPassesItToThePipeline(string request, string code)
    {
        var response = await SendAsync(request);

        Assert.StartsWith("HTTP/1.1 400 ", response, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", response, StringComparison.Ordinal);
        Assert.Contains($"{{\"error\":\"{code}\",\"message\":", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /v1/jobs/%00 HTTP/1.1\r\nHost: localhost\r\n\r\n", "400")]
    [InlineData("GET /v1/jobs/a%00b HTTP/1.1\r\nHost: localhost\r\n\r\n", "400")]
    [InlineData("GET /v1/jobs HTTP/1.1 extra\r\nHost: localhost\r\n\r\n", "400")]
    [InlineData("GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n", "400")]
    [InlineData("GET /v1/jobs/LONG HTTP/1.1\r\nHost: localhost\r\n\r\n", "414")]
    [InlineData("GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\nX-Big: BIG\r\n\r\n", "431")]
    public async Task RequestLineOrHeaderError_IsAnsweredByKestrelWithoutBodyAndTheServiceKeepsServing_WhenRejectedBeforeThePipeline(
        string request, string status)
    {
        var response = await SendAsync(request.Replace("LONG", new string('a', 9000), StringComparison.Ordinal)
            .Replace("BIG", new string('b', 40_000), StringComparison.Ordinal));

        Assert.StartsWith($"HTTP/1.1 {status} ", response, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 0\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Connection: close\r\n", response, StringComparison.Ordinal);
        using var health = await fixture.Service.Client.GetAsync("/v1/health/live");
        Assert.True(health.IsSuccessStatusCode);
    }

    private async Task<string> SendAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", fixture.Service.Port);
        var stream = client.GetStream();
        stream.ReadTimeout = 5000;
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                var text = Encoding.Latin1.GetString(received.ToArray());
                if (text.Contains("\r\n\r\n", StringComparison.Ordinal) && (text.Contains("Content-Length: 0\r\n", StringComparison.Ordinal) || text.EndsWith("0\r\n\r\n", StringComparison.Ordinal)))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // Kestrel closes the connection after a rejection; what arrived is the answer.
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }
}
