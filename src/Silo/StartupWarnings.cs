using System.Net;
using HpcJobs.Api.Security;
using Microsoft.Extensions.Options;

namespace HpcJobs.Silo;

public static partial class StartupWarnings
{
    /// <summary>One clear line when anyone on the network can write: bound beyond loopback with no tokens.</summary>
    public static WebApplication WarnIfOpenToTheNetwork(this WebApplication app)
    {
        var http = app.Services.GetRequiredService<IOptions<HttpEndpointOptions>>().Value;
        if (!IPAddress.IsLoopback(http.Host) && !app.Services.GetRequiredService<IOptions<AccessOptions>>().Value.Enabled)
        {
            LogOpen(app.Logger, http.Host.ToString(), http.Port);
        }

        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "HOST={Host}:{Port} is reachable from the network and no API tokens are set: anyone who can reach it can write. Set API_WRITE_TOKENS (see docs/security.md).")]
    private static partial void LogOpen(ILogger logger, string host, int port);
}
