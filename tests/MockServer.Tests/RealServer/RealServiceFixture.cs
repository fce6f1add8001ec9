using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace HpcJobs.MockServer.Tests.RealServer;

/// <summary>The whole service in-process (Orleans silo + HTTP front end) on a fresh SQLite file.</summary>
public sealed class RealServiceFactory(IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

/// <summary>One running service for the class; its database starts empty, so the document's own ids (12345...) are free.</summary>
public sealed class RealServiceFixture : IAsyncLifetime
{
    private readonly SqliteBackend _backend = new();
    private RealServiceFactory? _factory;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>(await _backend.CreateDatabaseAsync())
        {
            ["SILO_PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GATEWAY_PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ADVERTISED_IP"] = "127.0.0.1",
            ["CLUSTER_ID"] = "conformance-" + Guid.NewGuid().ToString("N")[..8],
        };
        _factory = new RealServiceFactory(settings);
        Client = _factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }
}
