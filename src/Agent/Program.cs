using HpcJobs.Agent;
using HpcJobs.Agent.Bench;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

RunMode mode;
AgentSettings settings;
try
{
    mode = RunMode.Parse(args);
    if (mode.Bench)
    {
        return await CollectionBench.RunAsync(Console.Out);
    }

    settings = AgentSettings.Load(Environment.GetEnvironmentVariable);
}
catch (SettingsException error)
{
    Console.Error.WriteLine(error.Message);
    return 2;
}

// No default configuration sources: nothing watches the working directory (/ under systemd).
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = args });
builder.Logging.AddSimpleConsole(console =>
{
    console.SingleLine = true;
    console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    console.UseUtcTimestamp = true;
});
builder.Logging.SetMinimumLevel(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("LOG_LEVEL"), true, out var level) ? level : LogLevel.Information);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

// stdout carries --dry-run's requests and nothing else.
builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddAgent(settings, mode);

using var host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;
