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
    private PostgresStorage(string url, PostgresDatabase database, PostgresSampleLog log)
    {
        Url = url;
        Database = database;
        Log = log;
    }

    public string Url { get; }

    public PostgresDatabase Database { get; }

    public PostgresSampleLog Log { get; }

    public static async Task<PostgresStorage> OpenAsync(string url, bool applySchema = true)
    {
        var options = Options.Create(new PostgresOptions { ConnectionString = url, MaxPoolSize = 5 });
        var metrics = new WriterMetrics();
        var database = new PostgresDatabase(options, metrics, NullLogger<PostgresDatabase>.Instance);
        if (applySchema)
        {
            await database.ApplySchemaAsync(CancellationToken.None);
        }

        return new PostgresStorage(url, database, new PostgresSampleLog(database, metrics, options, NullLogger<PostgresSampleLog>.Instance));
    }

    public Task<AppendResult> AppendAsync(string jobId, params UsageSample[] samples) =>
        Log.AppendAsync(jobId, samples, new JobUsage(jobId, TimeSpan.FromMinutes(1)));

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
        await Database.DisposeAsync();
    }
}
