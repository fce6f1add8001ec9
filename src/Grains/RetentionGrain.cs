using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HpcJobs.Grains;

/// <summary>
/// The cluster's one retention worker: a single activation (key 0) driven by a reminder, so the
/// pass runs once per cluster however many silos there are, and moves with the grain if its silo dies.
/// </summary>
[GrainType("retention")]
public sealed partial class RetentionGrain(
    ISampleLog samples,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<RetentionGrain> logger) : Grain, IRetentionGrain, IRemindable
{
    private const string ReminderName = "retention";

    private Task<long>? _running;

    public async Task EnsureScheduledAsync()
    {
        // The first pass soon after a silo starts catches up on whatever expired while the cluster was down.
        var settings = options.Value;
        await this.RegisterOrUpdateReminder(ReminderName, settings.FirstRunDelay, settings.Interval).ConfigureAwait(true);
    }

    public Task<long> RunOnceAsync() => _running is { IsCompleted: false } running ? running : (_running = PassAsync());

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The pass may take longer than a grain call may; it runs on the grain's scheduler between batches.
        _ = RunOnceAsync();
        return Task.CompletedTask;
    }

    private async Task<long> PassAsync()
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var cutoff = now.AddDays(-settings.Days);
        long total = 0;
        try
        {
            // Whole expired partitions go at once; the batches below then trim the one that straddles the cutoff.
            var upkeep = await samples.MaintainPartitionsAsync(cutoff, now, now.AddDays(settings.PartitionDaysAhead), CancellationToken.None)
                .ConfigureAwait(true);
            total += upkeep.DroppedSamples;
            if (upkeep.Dropped > 0)
            {
                LogPartitionsDropped(logger, upkeep.Dropped, upkeep.DroppedSamples, cutoff);
            }

            if (upkeep.Created > 0)
            {
                LogPartitionsCreated(logger, upkeep.Created);
            }

            var pace = new RetentionPace(settings);
            while (true)
            {
                var asked = pace.NextBatch;
                var started = time.GetTimestamp();
                var deleted = await samples.DeleteOlderThanAsync(cutoff, asked, CancellationToken.None).ConfigureAwait(true);
                total += deleted;
                var rest = pace.Record(deleted, time.GetElapsedTime(started));
                if (deleted < asked)
                {
                    break;
                }

                await Task.Delay(rest, time).ConfigureAwait(true);
            }
        }
        catch (StorageUnavailableException error)
        {
            LogPassFailed(logger, error);
        }

        if (total > 0)
        {
            LogPassDone(logger, total, cutoff);
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} samples older than {Cutoff:O}")]
    private static partial void LogPassDone(ILogger logger, long count, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention dropped {Count} sample partitions older than {Cutoff:O}, holding {Samples} samples")]
    private static partial void LogPartitionsDropped(ILogger logger, int count, long samples, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention made {Count} sample partitions ahead")]
    private static partial void LogPartitionsCreated(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention pass stopped: storage unavailable; the next pass continues")]
    private static partial void LogPassFailed(ILogger logger, Exception error);
}
