using System.Net.Http.Json;
using System.Text.Json;

namespace HpcJobs.Api.Tests.Infrastructure;

/// <summary>One running service per test class, on the backend <typeparamref name="TBackend"/>.</summary>
public class ServiceFixture<TBackend> : IAsyncLifetime
    where TBackend : IBackend, new()
{
    private InProcessService? _service;
    private string? _skipReason;

    public TBackend Backend { get; } = new();

    /// <summary>A client of the running service; skips the calling test when the backend is not available here.</summary>
    public HttpClient Client
    {
        get
        {
            Skip.If(_skipReason is not null, _skipReason);
            return _service!.Client;
        }
    }

    public IServiceProvider Services => _service!.Services;

    public IReadOnlyDictionary<string, string> Settings => _service?.Settings ?? new Dictionary<string, string>();

    /// <summary>Settings a derived fixture adds (tokens, limits...).</summary>
    protected virtual IReadOnlyDictionary<string, string> ExtraSettings { get; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        IReadOnlyDictionary<string, string> database;
        try
        {
            database = await Backend.CreateDatabaseAsync();
        }
        catch (SkipException skip)
        {
            _skipReason = skip.Message;
            return;
        }

        _service = InProcessService.Start(database, "test", ExtraSettings);
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await Backend.DisposeAsync();
    }
}

public static class HttpJson
{
    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, string json) =>
        client.PostAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string url, string json) =>
        client.PatchAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostAsJson<T>(this HttpClient client, string url, T value) =>
        client.PostAsJsonAsync(url, value);
}
