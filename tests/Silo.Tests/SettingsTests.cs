using HpcJobs.Api.Ingest;
using HpcJobs.Api.Security;
using HpcJobs.Grains;
using HpcJobs.Grains.Nodes;
using HpcJobs.Grains.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace HpcJobs.Silo.Tests;

/// <summary>Each concern's options bound from the variables and checked at start, as Program.cs registers them.</summary>
public sealed class SettingsTests
{
    private static WebApplication Load(params (string Key, string Value)[] values)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Configuration.AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)));
        builder.UseHttpEndpoint().AddJobStorage().AddJobGrains().UseJobSilo().AddIngestAdmission().AddTokenAccess().AddPrometheusExport();
        return builder.Build().ValidateSettings();
    }

    private static T Get<T>(WebApplication app)
        where T : class => app.Services.GetRequiredService<IOptions<T>>().Value;

    [Fact]
    public void Load_UsesContractDefaults_WhenNothingIsSet()
    {
        var settings = Load();

        Assert.Equal(8080, Get<HttpEndpointOptions>(settings).Port);
        Assert.Equal("0.0.0.0", Get<HttpEndpointOptions>(settings).Host.ToString());
        Assert.Equal(DatabaseType.Sqlite, settings.Configuration.Database());
        Assert.Equal("./hpc-jobs.db", Get<SqliteOptions>(settings).Path);
        Assert.Equal(7, Get<RetentionOptions>(settings).Days);
        Assert.Equal(11111, Get<EndpointOptions>(settings).SiloPort);
        Assert.Equal(30000, Get<EndpointOptions>(settings).GatewayPort);
        Assert.Equal("hpc", Get<ClusterOptions>(settings).ClusterId);
        Assert.Equal("hpc", Get<ClusterOptions>(settings).ServiceId);
        Assert.Equal(16_000, Get<IngestAdmissionOptions>(settings).MaxSamplesInFlight);
        Assert.Equal(TimeSpan.FromSeconds(600), Get<ReconcileOptions>(settings).After);
        Assert.Equal(TimeSpan.FromSeconds(60), Get<ReconcileOptions>(settings).Interval);
    }

    [Theory]
    [InlineData("PORT", "abc")]
    [InlineData("PORT", "70000")]
    [InlineData("HOST", "not-an-ip")]
    [InlineData("DATABASE_TYPE", "mysql")]
    [InlineData("METRICS_RETENTION_DAYS", "0")]
    [InlineData("SILO_PORT", "-1")]
    [InlineData("GATEWAY_PORT", "x")]
    [InlineData("CLUSTER_ID", "a b")]
    [InlineData("ADVERTISED_IP", "host.example")]
    [InlineData("SQLITE_SYNCHRONOUS", "off")]
    [InlineData("INGEST_MAX_SAMPLES_IN_FLIGHT", "0")]
    [InlineData("INGEST_MAX_SAMPLES_IN_FLIGHT", "lots")]
    [InlineData("RECONCILE_AFTER_SECONDS", "-1")]
    [InlineData("RECONCILE_AFTER_SECONDS", "ten minutes")]
    [InlineData("RECONCILE_INTERVAL_SECONDS", "0")]
    [InlineData("DATABASE_POOLER", "odyssey")]
    [InlineData("STALE_JOB_HOURS", "-1")]
    [InlineData("DATABASE_MEMBERSHIP_POOL_SIZE", "0")]
    public void Load_NamesTheVariable_WhenValueIsInvalid(string variable, string value)
    {
        var error = Assert.Throws<SettingsException>(() => Load((variable, value)));

        Assert.Equal(variable, error.Variable);
        Assert.Contains(variable, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void GrainDirectoryCache_IsOffForTheOneSqliteSilo_AndKeptForAPostgresCluster()
    {
        // One SQLite silo answers every lookup from its own directory partition; silos of a cluster
        // need the cache for the grains whose directory entry another silo holds (RemotePartitionDirectoryCache).
        Assert.Equal(GrainDirectoryOptions.CachingStrategyType.None, Get<GrainDirectoryOptions>(Load()).CachingStrategy);
        Assert.Equal(
            GrainDirectoryOptions.CachingStrategyType.Custom,
            Get<GrainDirectoryOptions>(Load(("DATABASE_TYPE", "postgres"), ("DATABASE_URL", "postgres://u:p@127.0.0.1:5432/db"))).CachingStrategy);
    }

    [Fact]
    public void Load_RejectsPostgresWithoutUrl_AndHidesTheUrlWhenMalformed()
    {
        Assert.Equal("DATABASE_URL", Assert.Throws<SettingsException>(() => Load(("DATABASE_TYPE", "postgres"))).Variable);
        var error = Assert.Throws<SettingsException>(() =>
            Load(("DATABASE_TYPE", "postgres"), ("DATABASE_URL", "postgres://u:secret@h:5432/db?bogus=1")));
        Assert.DoesNotContain("secret", error.Message);
    }

    [Fact]
    public void Load_NamesTheNodeTokensFile_WhenALineIsMalformed()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "# nodes\nnode-token-0123456789abcdef gpu01\nnode-token-secret-value-0000 gpu02 extra\n");

            var error = Assert.Throws<SettingsException>(() => Load(("API_NODE_TOKENS_FILE", file)));

            Assert.Equal("API_NODE_TOKENS_FILE", error.Variable);
            Assert.Contains("line 3", error.Message);
            Assert.DoesNotContain("secret", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_ReadsNodeTokens_FromTheFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "node-token-0123456789abcdef gpu01\n");

            var settings = Load(("API_NODE_TOKENS_FILE", file));

            Assert.Equal(file, Get<AccessOptions>(settings).NodeTokensFile);
            Assert.Equal("gpu01", Assert.Single(Get<AccessOptions>(settings).NodeTokens).Node);
            Assert.Equal("API_NODE_TOKENS_FILE", Assert.Throws<SettingsException>(() => Load(("API_NODE_TOKENS_FILE", file + ".missing"))).Variable);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_NamesEveryInvalidVariable_OnOneLine()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Load(("METRICS_RETENTION_DAYS", "0"), ("SAMPLE_INTERVAL_SECONDS", "0")));

        Assert.Equal(
            "invalid setting METRICS_RETENTION_DAYS='0': must be a whole number from 1 to 36500; invalid setting SAMPLE_INTERVAL_SECONDS='0': must be a whole number from 1 to 3600",
            error.Message);
    }

    [Fact]
    public async Task Process_ExitsWithOneLine_WhenSettingIsInvalid()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", $"\"{ServiceProcess.SiloAssembly()}\"")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["PORT"] = "eighty";
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("invalid setting PORT='eighty': must be a whole number from 1 to 65535", stderr.Trim());
    }
}
