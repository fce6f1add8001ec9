namespace HpcJobs.MockServer.Tests.RealServer;

/// <summary>One running service for the class; its database starts empty, so the document's own ids (12345...) are free.</summary>
public sealed class RealServiceFixture : IAsyncLifetime
{
    private readonly SqliteBackend _backend = new();
    private InProcessService? _service;

    public HttpClient Client => _service!.Client;

    public async Task InitializeAsync() =>
        // The document's examples carry fixed dates (January 2026); a retention window that reaches
        // back to them lets the service accept those samples word for word.
        _service = InProcessService.Start(
            await _backend.CreateDatabaseAsync(),
            "conformance",
            new Dictionary<string, string> { ["METRICS_RETENTION_DAYS"] = "36500" });

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }
}
