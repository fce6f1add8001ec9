using System.Globalization;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using HpcJobs.Grains.Storage.Postgres;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HpcJobs.Api.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL sample log of one silo, without the silo: its own data source (so several of them
/// are several silos' connections) and the schema applied as a silo applies it at start.
/// </summary>
public sealed class PostgresStorage : IAsyncDisposable
{
    private PostgresStorage(string url, PostgresDatabase database, PostgresSampleLog log, PostgresJobInserter inserter)
    {
        Url = url;
        Database = database;
        Log = log;
        Inserter = inserter;
    }

    public string Url { get; }

    public PostgresDatabase Database { get; }

    public PostgresSampleLog Log { get; }

    /// <summary>The group-commit writer of new jobs rows, as the silo's job row storage uses it.</summary>
    public PostgresJobInserter Inserter { get; }

    /// <summary>The job grains' storage on this silo's connections.</summary>
    public PostgresJobRowStorage JobRows() => new(Database, Inserter);

    /// <summary>A new empty database on the test server (<see cref="PostgresBackend"/>); its URL.</summary>
    public static async Task<string> NewDatabaseAsync()
    {
        await using var backend = new PostgresBackend();
        return (await backend.CreateDatabaseAsync())["DATABASE_URL"];
    }

    public static async Task<PostgresStorage> OpenAsync(string url, bool applySchema = true)
    {
        var options = Options.Create(new PostgresOptions { ConnectionString = url, MaxPoolSize = 5 });
        var metrics = new WriterMetrics();
        var database = new PostgresDatabase(options, metrics, NullLogger<PostgresDatabase>.Instance);
        if (applySchema)
        {
            await database.ApplySchemaAsync(CancellationToken.None);
        }

        return new PostgresStorage(
            url, database, new PostgresSampleLog(database, metrics, options, NullLogger<PostgresSampleLog>.Instance),
            new PostgresJobInserter(database, metrics, NullLogger<PostgresJobInserter>.Instance));
    }

    /// <summary>Appends as the job's grain would, under its row's key; a job without a row gets a bare one first.</summary>
    public async Task<AppendResult> AppendAsync(string jobId, params UsageSample[] samples) =>
        await Log.AppendAsync(jobId, samples, new JobUsage(jobId, TimeSpan.FromMinutes(1)) { JobKey = await JobKeyAsync(jobId) });

    /// <summary>The job's <c>job_key</c>, inserting a running row of that id when there is none (as silos racing would: once).</summary>
    public async Task<long> JobKeyAsync(string jobId)
    {
        await using (var insert = Database.DataSource.CreateCommand(
                         "INSERT INTO jobs (id, user_name, state, start_time, nodes) VALUES ($1, 'test', 'running', now(), '{}') ON CONFLICT (id) DO NOTHING"))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
            await insert.ExecuteNonQueryAsync();
        }

        await using var select = Database.DataSource.CreateCommand("SELECT job_key FROM jobs WHERE id = $1");
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        return (long)(await select.ExecuteScalarAsync())!;
    }

    public async Task<List<string>> ColumnAsync(string sql)
    {
        await using var command = Database.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture)!);
        }

        return values;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var command = Database.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = Database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The partitions attached to samples, by name, oldest first.</summary>
    public Task<List<string>> PartitionsAsync() => ColumnAsync(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'samples'::regclass ORDER BY 1");

    /// <summary>Samples per attached partition, the partitions without samples left out.</summary>
    public async Task<Dictionary<string, long>> CountsAsync()
    {
        await using var command = Database.DataSource.CreateCommand("SELECT tableoid::regclass::text, COUNT(*) FROM samples GROUP BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>
    /// Columns, keys, indexes and partitioning of samples and (names aside) of its partitions, of
    /// sample_nodes and of the job key on jobs: what a fresh and an upgraded database must agree on.
    /// </summary>
    public const string SampleShape =
        """
        SELECT x FROM (
            SELECT format('column %s %s %s %s %s %s %s', c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                          (SELECT collname FROM pg_collation WHERE oid = a.attcollation), a.attnotnull, a.attidentity) || ' '
                   || COALESCE((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum), '-') AS x
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.oid IN ('samples'::regclass, 'sample_nodes'::regclass) AND a.attnum > 0 AND NOT a.attisdropped
            UNION SELECT format('column jobs %s %s %s %s', attname, format_type(atttypid, atttypmod), attnotnull, attidentity)
            FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attname = 'job_key'
            UNION SELECT 'kind ' || relkind::text || ' ' || COALESCE(pg_get_partkeydef(oid), '-') FROM pg_class WHERE oid = 'samples'::regclass
            UNION SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid IN ('samples'::regclass, 'sample_nodes'::regclass)
            UNION SELECT 'index ' || regexp_replace(indexdef, 'samples_p[0-9]{8}', 'samples_pD', 'g')
            FROM pg_indexes WHERE tablename IN ('samples', 'sample_nodes') OR tablename ~ '^samples_p[0-9]{8}$' OR indexname = 'jobs_job_key_idx'
            UNION SELECT 'default partition' FROM pg_partitioned_table WHERE partrelid = 'samples'::regclass AND partdefid <> 0
            UNION SELECT 'table ' || relname FROM pg_class WHERE relname LIKE 'sample%' AND relkind IN ('r', 'p') AND relname !~ '^samples_p[0-9]{8}$'
            UNION SELECT format('node %s %L', node_key, name) FROM sample_nodes WHERE node_key = 0
        ) AS s ORDER BY x
        """;

    public static string PartitionOf(DateOnly day) => "samples_p" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    public static NpgsqlConnection Connect(string url)
    {
        var connection = new NpgsqlConnection(PostgresConnectionString.Parse(url).ConnectionString + ";Pooling=false");
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync();
        await Inserter.DisposeAsync();
        await Database.DisposeAsync();
    }
}
