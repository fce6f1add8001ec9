using HpcJobs.Api;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Health;
using HpcJobs.Api.Security;
using HpcJobs.Silo;
using HpcJobs.Silo.Demo;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLoggingDefaults();

WebApplication app;
try
{
    if (args.Contains(HealthCheckCommand.Flag))
    {
        return await HealthCheckCommand.RunAsync(builder.Configuration, args);
    }

    builder.AddDashboard();
    builder.AddEfficiencyFlags();
    builder.UseHttpEndpoint();
    builder.AddJobStorage();
    builder.AddJobGrains();
    builder.UseJobSilo();
    builder.AddDemo(args);
    builder.Services.AddJobsApi();
    builder.AddIngestAdmission();
    builder.Services.AddHealthProbes();
    builder.AddTokenAccess();
    builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(8));
    builder.AddPrometheusExport();
    app = builder.Build().ValidateSettings();
}
catch (OptionsValidationException error)
{
    Console.Error.WriteLine(error.Message);
    return 2;
}

app.UseContractErrors();
app.UseTokenAccess();
app.WarnIfOpenToTheNetwork();
app.MapJobsApiRoutes();
app.MapDashboard();
await app.RunAsync();
return 0;

/// <summary>Visible to the tests' <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
