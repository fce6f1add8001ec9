using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace HpcJobs.Api.Tests;

/// <summary>A service of its own: these tests rewrite its node token file.</summary>
public sealed class NodeTokenReloadTests : IAsyncLifetime
{
    private const string WriteToken = "reload-write-token-0123456789";
    private const string OldToken = "node-token-old-0123456789abcdef";
    private const string NewToken = "node-token-new-0123456789abcdef";

    private readonly SqliteBackend _backend = new();
    private readonly string _file = NodeTokenFiles.Write($"{OldToken} n\n");
    private InProcessService? _service;

    public async Task InitializeAsync() =>
        _service = InProcessService.Start(await _backend.CreateDatabaseAsync(), "reload", new Dictionary<string, string>
        {
            ["API_WRITE_TOKENS"] = WriteToken,
            ["API_NODE_TOKENS_FILE"] = _file,
        });

    public async Task DisposeAsync()
    {
        await _service!.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_file)!, recursive: true);
    }

    [Fact]
    public async Task NodeTokens_FollowTheFile_WhenItChanges()
    {
        var id = await CreateJobAsync();
        Assert.Equal(HttpStatusCode.Created, await PostSampleAsync(id, OldToken));

        await File.WriteAllTextAsync(_file, $"# rotated\n{NewToken} n\n");

        var (oldAnswer, newAnswer) = await PollAsync(id, (old, fresh) => old == HttpStatusCode.Unauthorized && fresh == HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.Unauthorized, oldAnswer);
        Assert.Equal(HttpStatusCode.Created, newAnswer);
    }

    [Fact]
    public async Task NodeTokens_KeepThePreviousSet_WhenTheNewFileIsMalformed()
    {
        var id = await CreateJobAsync();
        await File.WriteAllTextAsync(_file, $"{NewToken} n extra-word\n");

        // Longer than the reload takes (200 ms settle), then still the old set.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(HttpStatusCode.Created, await PostSampleAsync(id, OldToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostSampleAsync(id, NewToken));

        // And a good file after the bad one is taken.
        await File.WriteAllTextAsync(_file, $"{NewToken} n\n");
        var (oldAnswer, newAnswer) = await PollAsync(id, (old, fresh) => old == HttpStatusCode.Unauthorized && fresh == HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.Unauthorized, oldAnswer);
        Assert.Equal(HttpStatusCode.Created, newAnswer);
    }

    private async Task<(HttpStatusCode Old, HttpStatusCode New)> PollAsync(string id, Func<HttpStatusCode, HttpStatusCode, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var old = await PostSampleAsync(id, OldToken);
            var fresh = await PostSampleAsync(id, NewToken);
            if (done(old, fresh) || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                return (old, fresh);
            }

            await Task.Delay(100);
        }
    }

    private async Task<string> CreateJobAsync()
    {
        var id = "reload-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent($$"""{"id":"{{id}}","user":"u","nodes":["n"]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", WriteToken);
        using var response = await _service!.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    private async Task<HttpStatusCode> PostSampleAsync(string id, string token)
    {
        // A fresh timestamp each time: samples are identified by their time, and each poll must store one.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{id}/metrics")
        {
            Content = new StringContent("""{"cpu_usage":1,"memory_usage_mb":1}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _service!.Client.SendAsync(request);
        return response.StatusCode;
    }
}
