using Microsoft.Extensions.Configuration.Memory;

namespace HpcJobs.Silo;

/// <summary>
/// Log levels an operator would otherwise have to set: ASP.NET Core's two lines per request and
/// Polly's two lines per grain placement are Information by default, which at thousands of requests
/// a second costs CPU and floods the log. They are defaults only: any <c>Logging__LogLevel__*</c>
/// variable or configuration file overrides them.
/// </summary>
internal static class LoggingDefaults
{
    public static void AddLoggingDefaults(this IConfigurationBuilder configuration) =>
        configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Polly"] = "Warning",
            },
        });
}
