using System.Text;
using System.Text.Json;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>The hot path: samples of one job queued for the batch's multi-row insert; the jobs row is updated once per batch.</summary>
internal sealed class SampleWrite(string jobId, IReadOnlyList<UsageSample> samples) : SqliteWrite<bool>
{
    private readonly byte[] _jobIdUtf8 = Encoding.UTF8.GetBytes(jobId);

    public override void Apply(SqliteWriteContext context)
    {
        foreach (var sample in samples)
        {
            context.AddSample(jobId, _jobIdUtf8, sample);
        }

        Result = true;
    }
}

/// <summary>Any other write, expressed as a function of the writer's context.</summary>
internal sealed class DelegateWrite<TResult>(Func<SqliteWriteContext, TResult> apply) : SqliteWrite<TResult>
{
    public override void Apply(SqliteWriteContext context)
    {
        context.FlushSamples();
        Result = apply(context);
    }
}

internal static class JobRowWrites
{
    public static int Upsert(SqliteWriteContext context, JobRow row, bool created)
    {
        if (created)
        {
            context.Command(
                "INSERT INTO service_counters (name, value) VALUES ('jobs_created', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1")
                .ExecuteNonQuery();
        }

        var upsert = context.Command(
            """
            INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, scheduler)
            VALUES ($id, $user, $state, $start, $end, $nodes, $scheduler)
            ON CONFLICT (id) DO UPDATE SET
                user_name = excluded.user_name, state = excluded.state, start_time = excluded.start_time,
                end_time = excluded.end_time, nodes = excluded.nodes, scheduler = excluded.scheduler
            """,
            "$id", "$user", "$state", "$start", "$end", "$nodes", "$scheduler");
        upsert.Parameters[0].Value = row.Id;
        upsert.Parameters[1].Value = row.User;
        upsert.Parameters[2].Value = row.State.ToWire();
        upsert.Parameters[3].Value = MicrosecondTime.ToUnixMicroseconds(row.StartTime);
        upsert.Parameters[4].Value = row.EndTime is { } end ? MicrosecondTime.ToUnixMicroseconds(end) : DBNull.Value;
        upsert.Parameters[5].Value = JsonSerializer.Serialize(row.Nodes, StorageJson.Default.IReadOnlyListString);
        upsert.Parameters[6].Value = (object?)row.SchedulerJson ?? DBNull.Value;
        upsert.ExecuteNonQuery();

        var clear = context.Command("DELETE FROM job_nodes WHERE job_id = $id", "$id");
        clear.Parameters[0].Value = row.Id;
        clear.ExecuteNonQuery();
        var insertNode = context.Command(
            "INSERT OR IGNORE INTO job_nodes (node, job_id) VALUES ($node, $id)", "$node", "$id");
        foreach (var node in row.Nodes)
        {
            insertNode.Parameters[0].Value = node;
            insertNode.Parameters[1].Value = row.Id;
            insertNode.ExecuteNonQuery();
        }

        return 1;
    }

    public static int Delete(SqliteWriteContext context, string jobId)
    {
        foreach (var sql in new[]
                 {
                     "DELETE FROM samples WHERE job_id = $id",
                     "DELETE FROM job_nodes WHERE job_id = $id",
                     "DELETE FROM jobs WHERE id = $id",
                 })
        {
            var command = context.Command(sql, "$id");
            command.Parameters[0].Value = jobId;
            command.ExecuteNonQuery();
        }

        return 1;
    }
}
