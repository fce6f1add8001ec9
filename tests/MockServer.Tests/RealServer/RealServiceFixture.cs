namespace HpcJobs.MockServer.Tests.RealServer;

/// <summary>One running service for the class; its database starts empty, so the document's own ids (12345...) are free.</summary>
public sealed class RealServiceFixture : IAsyncLifetime
{
    private readonly SqliteBackend _backend = new();
    private InProcessService? _service;

    public HttpClient Client => _service!.Client;

    public async Task InitializeAsync() =>
        _service = InProcessService.Start(await _backend.CreateDatabaseAsync(), "conformance");

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }
}
