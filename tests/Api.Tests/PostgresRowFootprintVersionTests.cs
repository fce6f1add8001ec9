using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Orleans.Storage;
using static HpcJobs.Api.Tests.Infrastructure.PostgresStorage;

namespace HpcJobs.Api.Tests;

/// <summary>
/// On PostgreSQL a job's lifecycle writes do not go through the sample writer, so a footprint the
/// grain prepared before a lifecycle write (judged against the old lifecycle) can reach the writer's
/// transaction after that write committed. The writer stores it only while the row is still at the
/// version it was judged on: the lifecycle write's own flags and footprint stay.
/// </summary>
public sealed class PostgresRowFootprintVersionTests
{
    private static readonly DateTimeOffset At = new(2020, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [SkippableFact]
    public async Task AFootprintJudgedBeforeALifecycleWrite_LeavesWhatThatWriteStored_AndOneJudgedAfterItIsWritten()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        var rows = storage.JobRows();
        var (job, usage) = await RunningWithASampleAsync(storage, rows, "raced");

        // Judged at the row's version 1, taken by the writer only after the job's end was stored.
        var live = usage.Footprint;
        Assert.True(usage.PrepareRow(live, [JobFlags.LowCpu], VersionOf(job)));
        job.State!.State = JobState.Completed;
        job.State.EndTime = At;
        job.State.Flags = [JobFlags.IdleGpu];
        job.State.PendingFootprint = """{"final": true}""";
        await rows.WriteStateAsync(StorageNames.JobState, Grain("raced"), job);
        await storage.Log.AppendAsync("raced", [], usage);

        Assert.Equal([JobFlags.IdleGpu], await storage.ColumnAsync("SELECT jsonb_array_elements_text(flags) FROM jobs WHERE id = 'raced'"));
        Assert.Equal(1, await storage.ScalarAsync("SELECT COUNT(*) FROM job_footprints WHERE footprint = '{\"final\": true}'::jsonb"));

        // Judged at the row's version now (other flags, so due at once): written.
        Assert.True(usage.PrepareRow(live, [JobFlags.NearMemoryLimit], VersionOf(job)));
        await storage.Log.AppendAsync("raced", [], usage);

        Assert.Equal([JobFlags.NearMemoryLimit], await storage.ColumnAsync("SELECT jsonb_array_elements_text(flags) FROM jobs WHERE id = 'raced'"));
        Assert.Equal(1, await storage.ScalarAsync("SELECT COUNT(*) FROM job_footprints WHERE NOT footprint ? 'final' AND jsonb_array_length(footprint -> 'nodes') = 1"));
    }

    [SkippableFact]
    public async Task AFootprintWhoseUpdateWaitsForALifecycleWrite_LeavesWhatThatWriteStored()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        var rows = storage.JobRows();
        var (job, usage) = await RunningWithASampleAsync(storage, rows, "blocked");
        Assert.True(usage.PrepareRow(usage.Footprint, [JobFlags.LowCpu], VersionOf(job)));

        // A lifecycle write holds the row; the writer's update of it waits, then meets the new version.
        await using var lifecycle = Connect(storage.Url);
        await using var transaction = await lifecycle.BeginTransactionAsync();
        await using (var update = new Npgsql.NpgsqlCommand(
            """UPDATE jobs SET version = version + 1, flags = '["idle_gpu"]' WHERE id = 'blocked'""", lifecycle, transaction))
        {
            await update.ExecuteNonQueryAsync();
        }

        var append = storage.Log.AppendAsync("blocked", [], usage);
        await Task.Delay(500);
        Assert.False(append.IsCompleted, "the writer's update should wait for the row");
        await transaction.CommitAsync();
        await append;

        Assert.Equal([JobFlags.IdleGpu], await storage.ColumnAsync("SELECT jsonb_array_elements_text(flags) FROM jobs WHERE id = 'blocked'"));
        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM job_footprints"));
    }

    /// <summary>A running job's row (version 1) and its usage with one committed sample.</summary>
    private static async Task<(GrainState<JobRecord> Job, JobUsage Usage)> RunningWithASampleAsync(PostgresStorage storage, IGrainStorage rows, string jobId)
    {
        var job = new GrainState<JobRecord>(new JobRecord { User = "u", Nodes = ["n1"], State = JobState.Running, StartTime = At.AddHours(-1) });
        await rows.WriteStateAsync(StorageNames.JobState, Grain(jobId), job);
        var usage = new JobUsage(jobId, TimeSpan.FromMinutes(1)) { JobKey = job.State!.Key };
        await storage.Log.AppendAsync(jobId, [new UsageSample(At, 3, 30, null, null)], usage);
        return (job, usage);
    }

    private static long VersionOf(GrainState<JobRecord> job) => long.Parse(job.ETag!, System.Globalization.CultureInfo.InvariantCulture);

    private static GrainId Grain(string jobId) => GrainId.Create("job", JobKey.ToGrainKey(jobId));
}
