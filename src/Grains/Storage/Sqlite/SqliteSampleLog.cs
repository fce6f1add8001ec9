namespace HpcJobs.Grains.Storage.Sqlite;

public sealed class SqliteSampleLog(SqliteDatabase database, WriterMetrics metrics) : ISampleLog
{
    public Task<AppendResult> AppendAsync(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage)
    {
        SampleAppend.RequireJobKey(jobId, usage);
        return database.WriteAsync(new SampleWrite(jobId, samples, usage));
    }

    public Task<IReadOnlyList<UsageSample>> ReadRecentAsync(string jobId, int count) =>
        ReadRangeAsync(jobId, null, null, count, CancellationToken.None);

    public async Task<IReadOnlyList<UsageSample>> ReadRangeAsync(
        string jobId, DateTimeOffset? from, DateTimeOffset? to, int limit, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            """
            SELECT s.ts, s.cpu_usage, s.memory_usage_mb, s.gpu_usage, IFNULL(n.name, ''), s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills
            FROM samples s
            LEFT JOIN sample_nodes n ON n.node_key = s.node_key
            WHERE s.job_key = (SELECT job_key FROM jobs WHERE id = $id) AND s.ts >= $from AND s.ts <= $to
            ORDER BY s.ts DESC, IFNULL(n.name, '') DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$from", from is { } f ? MicrosecondTime.ToUnixMicroseconds(f) : long.MinValue);
        command.Parameters.AddWithValue("$to", to is { } t ? MicrosecondTime.ToUnixMicroseconds(t) : long.MaxValue);
        command.Parameters.AddWithValue("$limit", limit);
        var samples = new List<UsageSample>(Math.Min(limit, 1024));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            samples.Add(StorageRows.Sample(reader, MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(0))));
        }

        samples.Reverse();
        return samples;
    }

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken)
    {
        var micros = MicrosecondTime.ToUnixMicroseconds(cutoff);
        var deleted = await database.WriteAsync(new DelegateWrite<int>(context =>
        {
            var command = context.Command(
                """
                DELETE FROM samples WHERE (ts, job_key, node_key) IN
                    (SELECT ts, job_key, node_key FROM samples WHERE ts < $cutoff ORDER BY ts LIMIT $batch)
                """,
                "$cutoff", "$batch");
            command.Parameters[0].Value = micros;
            command.Parameters[1].Value = batchSize;
            return command.ExecuteNonQuery();
        })).ConfigureAwait(false);
        metrics.RecordRetention(deleted);
        return deleted;
    }

    /// <summary>One table, no partitions: retention is the batched delete alone.</summary>
    public Task<PartitionUpkeep> MaintainPartitionsAsync(
        DateTimeOffset cutoff, DateTimeOffset readyFrom, DateTimeOffset readyUntil, CancellationToken cancellationToken) =>
        Task.FromResult(PartitionUpkeep.None);
}
