using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace HpcJobs.Tests.Support;

/// <summary>
/// The whole service in-process (Orleans silo + HTTP front end) on a real database, with its own
/// silo ports and cluster id so that services of parallel test classes never meet.
/// </summary>
public sealed class InProcessService : IAsyncDisposable
{
    private readonly Factory _factory;

    private InProcessService(IReadOnlyDictionary<string, string> settings, Action<IServiceCollection>? services)
    {
        Settings = settings;
        _factory = new Factory(settings, services);
        Client = _factory.CreateClient();
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _factory.Services;

    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>
    /// Starts the service on <paramref name="database"/>'s settings plus <paramref name="extra"/> ones;
    /// <paramref name="services"/> replaces some of its services (a fake clock, say).
    /// </summary>
    public static InProcessService Start(
        IReadOnlyDictionary<string, string> database,
        string clusterPrefix,
        IReadOnlyDictionary<string, string>? extra = null,
        Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string>(database)
        {
            ["SILO_PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GATEWAY_PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ADVERTISED_IP"] = "127.0.0.1",
            ["CLUSTER_ID"] = clusterPrefix + "-" + Guid.NewGuid().ToString("N")[..8],
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return new InProcessService(settings, services);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
    }

    private sealed class Factory(IReadOnlyDictionary<string, string> settings, Action<IServiceCollection>? services)
        : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            if (services is not null)
            {
                builder.ConfigureTestServices(services);
            }
        }
    }
}
