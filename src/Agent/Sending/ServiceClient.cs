using System.Net;
using System.Net.Http.Headers;

namespace HpcJobs.Agent.Sending;

public enum SendOutcome
{
    /// <summary>2xx.</summary>
    Delivered,

    /// <summary>A 4xx that no retry can change (400, 404, 409, 413, ...).</summary>
    Refused,

    /// <summary>No answer, a 5xx, 408, 429, or 401/403 (a token an operator can fix): try again later.</summary>
    Retry,
}

public sealed record SendResult(SendOutcome Outcome, int Status, string Body);

/// <summary>The service's HTTP API as the agent uses it: JSON posts with the node's bearer token and a time limit.</summary>
public sealed class ServiceClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _tokenFile;
    private string? _token;

    public ServiceClient(ServiceOptions options, HttpMessageHandler? handler = null)
    {
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = options.Interval + TimeSpan.FromSeconds(5),
        })
        {
            BaseAddress = options.ServiceUrl,
            Timeout = options.RequestTimeout,
        };
        _tokenFile = options.TokenFile;
    }

    /// <summary>Re-reads AGENT_TOKEN_FILE; a file that cannot be read keeps the last good token.</summary>
    public string? RefreshToken()
    {
        if (_tokenFile is null)
        {
            return null;
        }

        var file = TokenFile.Read(_tokenFile);
        if (file.Token is { } token)
        {
            _token = token;
            return null;
        }

        return file.Error;
    }

    /// <param name="path">Relative to HPC_SERVICE_URL, without a leading '/'.</param>
    public async Task<SendResult> PostAsync(string path, byte[] body, string source, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Add("X-Source", source);
        if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        try
        {
            using var response = await _http.SendAsync(request, cancel);
            var text = await response.Content.ReadAsStringAsync(cancel);
            return new SendResult(Classify(response.StatusCode), (int)response.StatusCode, text);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            // A timeout, a refused connection, or the agent stopping mid-request: no answer, so the
            // batch is spooled (if it did arrive, its replay is a duplicate and stored once).
            return new SendResult(SendOutcome.Retry, 0, cancel.IsCancellationRequested ? "agent stopping" : e.Message);
        }
    }

    /// <summary>No answer, a 5xx or 429: the service itself is not taking work now (as opposed to refusing this request).</summary>
    public static bool ServiceDown(SendResult result) => result.Status is 0 or 429 or >= 500;

    public static SendOutcome Classify(HttpStatusCode status) => (int)status switch
    {
        >= 200 and < 300 => SendOutcome.Delivered,
        401 or 403 or 408 or 429 => SendOutcome.Retry,
        >= 400 and < 500 => SendOutcome.Refused,
        _ => SendOutcome.Retry,
    };

    public void Dispose() => _http.Dispose();
}
