using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace HpcJobs.Grains.Nodes;

/// <summary>
/// The cluster's one reconciler: a single activation (key 0), so a pass runs once per cluster
/// however many silos there are. As with retention, every silo makes sure a reminder exists at start;
/// the reminder (at most once a minute) re-activates the grain wherever it can live after its silo
/// died, and the activation runs its passes on a grain timer every <c>RECONCILE_INTERVAL_SECONDS</c>.
/// A pass reads the nodes table and keyset pages of running jobs, and sends each job judged lost
/// (<see cref="Heartbeats.IsLost"/>) the end an epilog would have sent — job-finished, failed, raw
/// state <c>LOST</c>, for the attempt that was judged — so the job grain stays the only writer of the
/// job, writes the audit entry, and leaves a job that ended or was requeued meanwhile alone.
/// </summary>
[GrainType("reconciler")]
public sealed partial class ReconcilerGrain(
    INodeIndex index,
    IOptions<ReconcileOptions> options,
    TimeProvider time,
    ILogger<ReconcilerGrain> logger) : Grain, IReconcilerGrain, IRemindable
{
    /// <summary>What the job's audit records for an end decided here.</summary>
    public static readonly WriteContext Source = new("reconciler", "reconciler", null, null);

    private const string ReminderName = "reconcile";

    private static readonly Counter Reconciled = Prometheus.Metrics.CreateCounter(
        "hpc_reconciled_jobs_total", "Running jobs this silo's reconciler ended as lost (failed, raw_state LOST): their nodes kept sending heartbeats without listing them.");

    private IGrainTimer? _timer;
    private Task<int>? _running;

    public async Task EnsureRunningAsync()
    {
        Reconciled.Inc(0); // exported from 0 on the silo that runs the passes, not only after the first end
        if (!options.Value.Enabled)
        {
            return;
        }

        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1)).ConfigureAwait(true);
        StartTimer();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (options.Value.Enabled)
        {
            StartTimer();
        }

        return Task.CompletedTask;
    }

    public Task<int> RunOnceAsync() => _running is { IsCompleted: false } running ? running : (_running = PassAsync());

    private void StartTimer()
    {
        var interval = options.Value.Interval;
        _timer ??= this.RegisterGrainTimer(
            static (grain, _) => grain.RunOnceAsync(),
            this,
            new GrainTimerCreationOptions { DueTime = interval, Period = interval, Interleave = false, KeepAlive = true });
    }

    private async Task<int> PassAsync()
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return 0;
        }

        var ended = 0;
        try
        {
            var nodes = (await index.ListAsync(CancellationToken.None).ConfigureAwait(true))
                .ToDictionary(n => n.Node, n => n.Record, StringComparer.Ordinal);
            if (nodes.Count == 0)
            {
                return 0; // no agent reports anywhere: nothing can be judged
            }

            var startedBy = time.GetUtcNow() - settings.After;
            var afterId = string.Empty;
            IReadOnlyList<RunningJob> page;
            do
            {
                page = await index.ListRunningAsync(startedBy, afterId, settings.PageSize, CancellationToken.None).ConfigureAwait(true);
                foreach (var job in page)
                {
                    if (!Heartbeats.IsLost(job, nodes, settings.After))
                    {
                        continue;
                    }

                    if (ended >= settings.MaxEndsPerPass)
                    {
                        LogCapped(logger, settings.MaxEndsPerPass);
                        return ended;
                    }

                    var end = new JobFinished(time.GetUtcNow(), JobState.Failed, null, null, Flagging.LostRawState, job.Attempt - 1);
                    var outcome = await GrainFactory.GetJob(job.Id).FinishedAsync(end, Source).ConfigureAwait(true);
                    if (outcome.Status == EventStatus.Updated)
                    {
                        ended++;
                        Reconciled.Inc();
                        LogEnded(logger, job.Id, string.Join(',', job.Nodes), settings.After.TotalSeconds);
                    }
                }

                afterId = page.Count > 0 ? page[^1].Id : afterId;
            }
            while (page.Count == settings.PageSize);
        }
        catch (Exception error) when (error is StorageUnavailableException or OrleansException or TimeoutException)
        {
            // Storage down, or a job's silo just died: what is left is judged again next pass.
            LogPassFailed(logger, error);
        }

        return ended;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler ended job {JobId} as lost: nodes {Nodes} kept sending heartbeats without listing it for {Seconds} s")]
    private static partial void LogEnded(ILogger logger, string jobId, string nodes, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler pass stopped after ending {Count} jobs (the per-pass limit); the next pass continues. Many lost jobs at once may mean agents that cannot see the jobs (check hpc_node_heartbeat_jobs)")]
    private static partial void LogCapped(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler pass stopped: storage or a silo unavailable; the next pass continues")]
    private static partial void LogPassFailed(ILogger logger, Exception error);
}
