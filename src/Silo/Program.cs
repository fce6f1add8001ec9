using HpcJobs.Api;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Health;
using HpcJobs.Api.Ingest;
using HpcJobs.Api.Metrics;
using HpcJobs.Api.Security;
using HpcJobs.Silo;
using HpcJobs.Silo.Demo;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLoggingDefaults();

ServiceSettings settings;
try
{
    settings = ServiceSettings.Load(builder.Configuration, args);
    builder.AddDashboard();
    builder.AddEfficiencyFlags();
}
catch (SettingsException error)
{
    Console.Error.WriteLine(error.Message);
    return 2;
}

if (args.Contains(HealthCheckCommand.Flag))
{
    return await HealthCheckCommand.RunAsync(settings, args);
}

builder.UseHttpEndpoint(settings);
builder.AddJobStorage(settings);
builder.UseJobSilo(settings);
builder.AddDemo(settings);
builder.Services.AddJobsApi(api =>
{
    api.MaxBodyBytes = settings.MaxBodyBytes;
    api.MaxBatchBodyBytes = settings.MaxBatchBodyBytes;
});
builder.Services.AddIngestAdmission(admission => admission.MaxSamplesInFlight = settings.IngestMaxSamplesInFlight);
builder.Services.AddHealthProbes();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = Math.Max(settings.MaxBodyBytes, settings.MaxBatchBodyBytes) + 1);
builder.Services.AddTokenAccess(access =>
{
    access.WriteTokens = settings.WriteTokens;
    access.ReadTokens = settings.ReadTokens;
    access.NodeTokensFile = settings.NodeTokensFile;
    access.NodeTokens = settings.NodeTokens;
    access.MetricsNeedToken = settings.MetricsNeedToken;
});
builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(8));
builder.Services.AddPrometheusExport(metrics => metrics.EndedJobGrace = settings.EndedJobGrace);

var app = builder.Build();
app.UseContractErrors();
app.UseTokenAccess();
app.WarnIfOpenToTheNetwork(settings);
app.MapJobsApiRoutes();
app.MapDashboard();
await app.RunAsync();
return 0;

/// <summary>Visible to the tests' <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
