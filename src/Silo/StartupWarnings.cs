using System.Net;

namespace HpcJobs.Silo;

public static partial class StartupWarnings
{
    /// <summary>One clear line when anyone on the network can write: bound beyond loopback with no tokens.</summary>
    public static WebApplication WarnIfOpenToTheNetwork(this WebApplication app, ServiceSettings settings)
    {
        if (!IPAddress.IsLoopback(settings.Host) && settings.WriteTokens.Count == 0 && settings.ReadTokens.Count == 0 && settings.NodeTokensFile is null)
        {
            LogOpen(app.Logger, settings.Host.ToString(), settings.Port);
        }

        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "HOST={Host}:{Port} is reachable from the network and no API tokens are set: anyone who can reach it can write. Set API_WRITE_TOKENS (see docs/security.md).")]
    private static partial void LogOpen(ILogger logger, string host, int port);
}
