using HpcJobs.Grains;
using Orleans.Concurrency;

namespace HpcJobs.Bench.Baseline;

/// <summary>What the baseline does between parsing a sample and answering it.</summary>
internal enum Hop
{
    /// <summary>Nothing: bare Kestrel and the parser.</summary>
    None,

    /// <summary>One call to a no-op grain keyed by the job id.</summary>
    Grain,

    /// <summary>The grain call, and the grain awaits its sample's commit by the shared SQLite writer.</summary>
    GrainSqlite,

    /// <summary>The grain call, and the grain awaits its sample's durable commit to PostgreSQL by one shared writer.</summary>
    GrainPostgres,
}

/// <summary>
/// One job's grain with nothing of the service's inside: the call carries the sample as the
/// service's <c>IJobGrain.RecordSamplesAsync</c> does (a list, interleaving), and answers a count.
/// </summary>
[Alias("bench.IHopGrain")]
public interface IHopGrain : IGrainWithStringKey
{
    [Alias("Record"), AlwaysInterleave]
    Task<int> RecordAsync(IReadOnlyList<UsageSample> samples);
}

internal sealed class HopGrain(ISampleSink sink) : Grain, IHopGrain
{
    private int _job = -1;
    private int _recorded;

    public async Task<int> RecordAsync(IReadOnlyList<UsageSample> samples)
    {
        if (_job < 0)
        {
            _job = sink.JobOf(this.GetPrimaryKeyString());
        }

        await sink.WriteAsync(_job, samples);
        return _recorded += samples.Count;
    }
}

internal static class HopSetup
{
    public static Hop FromEnvironment() => (Environment.GetEnvironmentVariable("HOP") ?? "none") switch
    {
        "none" => Hop.None,
        "grain" => Hop.Grain,
        "grain-sqlite" => Hop.GrainSqlite,
        "grain-postgres" => Hop.GrainPostgres,
        var other => throw new ArgumentException($"HOP must be 'none', 'grain', 'grain-sqlite' or 'grain-postgres', not '{other}'"),
    };

    /// <summary>A silo in this process on loopback (silo port PORT+1, gateway PORT+2), and the grain's sink.</summary>
    public static WebApplicationBuilder UseHopSilo(this WebApplicationBuilder builder, Hop hop, int port)
    {
        builder.UseOrleans(silo => silo.UseLocalhostClustering(siloPort: port + 1, gatewayPort: port + 2));
        var jobs = int.Parse(Environment.GetEnvironmentVariable("JOBS") ?? "1000");
        if (hop == Hop.GrainSqlite)
        {
            var path = Environment.GetEnvironmentVariable("SQLITE_PATH")
                ?? throw new ArgumentException("HOP=grain-sqlite needs SQLITE_PATH (a file that does not exist yet)");
            builder.Services.AddSingleton<ISampleSink>(_ => new SqliteSampleSink(path, jobs));
        }
        else if (hop == Hop.GrainPostgres)
        {
            var connection = Environment.GetEnvironmentVariable("PG_CONNECTION")
                ?? throw new ArgumentException("HOP=grain-postgres needs PG_CONNECTION (an Npgsql connection string to an empty database)");
            var schema = Environment.GetEnvironmentVariable("SCHEMA_DIR") ?? "sql/postgres";
            builder.Services.AddSingleton<ISampleSink>(_ => PostgresSampleSink.Create(connection, schema, jobs));
        }
        else
        {
            builder.Services.AddSingleton<ISampleSink, NoSampleSink>();
        }

        return builder;
    }
}
