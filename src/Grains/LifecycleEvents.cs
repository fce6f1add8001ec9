using System.Text.Json;
using HpcJobs.Grains.Storage;

namespace HpcJobs.Grains;

/// <summary>
/// What a scheduler event does to a job (contract, "Lifecycle events"): the next lifecycle to store
/// with its audit entry, or why nothing changes. Pure, so every rule is tested without a silo; the
/// grain only stores the decision.
/// </summary>
public static class LifecycleEvents
{
    /// <summary>The scheduler fields that describe how an attempt ended: cleared when a requeued job starts again.</summary>
    private static readonly string[] EndFields = ["raw_state", "exit_code", "signal"];

    /// <summary>The outcome of an event: <see cref="Next"/> is null when nothing is to be stored.</summary>
    public sealed record Decision(EventStatus Status, JobRecord? Next, string? Message = null);

    public static Decision Started(string jobId, JobRecord? current, JobStarted started, WriteContext context, DateTimeOffset now)
    {
        if (context.ScopedNode is { } node && (!started.Nodes.Contains(node) || (current is not null && !current.Nodes.Contains(node))))
        {
            return new Decision(EventStatus.Forbidden, null, $"a token for node '{node}' may report only jobs that run on it");
        }

        var attempt = started.RestartCount + 1;
        var at = MicrosecondTime.Truncate(started.Timestamp);
        if (current is null)
        {
            var created = Apply(new JobRecord { State = JobState.Running, StartTime = at, Attempt = attempt }, started);
            created.PendingAudit = Audit(now, AuditChanges.Created, null, JobState.Running, context,
                attempt > 1 ? Details(writer => writer.WriteNumber("attempt", attempt)) : null);
            return new Decision(EventStatus.Created, created);
        }

        if (attempt < current.Attempt)
        {
            return new Decision(EventStatus.Skipped, null, $"job '{jobId}' is at attempt {current.Attempt}; this event is for attempt {attempt}");
        }

        if (attempt > current.Attempt)
        {
            return Requeue(current, started, attempt, at, context, now);
        }

        if (current.State.IsTerminal())
        {
            return new Decision(EventStatus.Skipped, null, $"job '{jobId}' already ended ({current.State.ToWire()})");
        }

        var next = Apply(current.Copy(), started);
        if (current.State == JobState.Pending)
        {
            next.State = JobState.Running;
            next.StartTime = at;
        }

        var changed = Differences(current, next);
        if (changed.Count == 0)
        {
            return new Decision(EventStatus.Skipped, null, "nothing differs from the stored job");
        }

        next.PendingAudit = Audit(now, AuditChanges.Updated, current.State, next.State, context, Details(writer =>
        {
            writer.WriteStartArray("fields");
            changed.ForEach(writer.WriteStringValue);
            writer.WriteEndArray();
        }));
        return new Decision(EventStatus.Updated, next);
    }

    public static Decision Finished(string jobId, JobRecord current, JobFinished finished, WriteContext context, DateTimeOffset now)
    {
        if (context.ScopedNode is { } node && !current.Nodes.Contains(node))
        {
            return new Decision(EventStatus.Forbidden, null, $"a token for node '{node}' may report only jobs that run on it");
        }

        if (finished.RestartCount is { } restarts && restarts + 1 != current.Attempt)
        {
            return restarts + 1 < current.Attempt
                ? new Decision(EventStatus.Skipped, null, $"job '{jobId}' is at attempt {current.Attempt}; this event ends attempt {restarts + 1}")
                : new Decision(EventStatus.Conflict, null,
                    $"job '{jobId}' is at attempt {current.Attempt}; attempt {restarts + 1} has not started (send its job-started first)");
        }

        if (current.State.IsTerminal())
        {
            return new Decision(EventStatus.Skipped, null, $"job '{jobId}' already ended ({current.State.ToWire()})");
        }

        var at = MicrosecondTime.Truncate(finished.Timestamp);
        var next = current.Copy();
        next.State = finished.EndState();
        next.EndTime = at > current.StartTime ? at : current.StartTime;
        next.SchedulerJson = SchedulerJson.With(
            current.SchedulerJson, ("raw_state", finished.RawState), ("exit_code", finished.ExitCode), ("signal", finished.Signal));
        next.PendingAudit = Audit(now, AuditChanges.Transition, current.State, next.State, context, Details(writer =>
        {
            WriteIfSet(writer, "raw_state", finished.RawState);
            WriteIfSet(writer, "exit_code", finished.ExitCode);
            WriteIfSet(writer, "signal", finished.Signal);
        }));
        return new Decision(EventStatus.Updated, next);
    }

    /// <summary>
    /// A later attempt starts. The attempt that was stored is kept under <c>attempts</c>; if its end
    /// never arrived (a lost epilog), it is kept as failed, ending when the new one starts.
    /// </summary>
    private static Decision Requeue(JobRecord current, JobStarted started, int attempt, DateTimeOffset at, WriteContext context, DateTimeOffset now)
    {
        var ended = current.State.IsTerminal();
        var previous = new JobAttempt(
            current.Attempt,
            current.StartTime,
            ended ? current.EndTime : (at > current.StartTime ? at : current.StartTime),
            ended ? current.State : JobState.Failed,
            (int?)SchedulerJson.Integer(current.SchedulerJson, "exit_code"));
        var next = Apply(current.Copy(), started);
        next.Attempts = [.. current.Attempts, previous];
        next.Attempt = attempt;
        next.State = JobState.Running;
        next.StartTime = at;
        next.EndTime = null;
        next.SchedulerJson = SchedulerJson.Without(next.SchedulerJson, EndFields);
        next.PendingAudit = Audit(now, AuditChanges.Requeue, current.State, JobState.Running, context,
            Details(writer => writer.WriteNumber("attempt", attempt)));
        return new Decision(EventStatus.Updated, next);
    }

    /// <summary>The event's fields over the record's: a field the event leaves out keeps its value.</summary>
    private static JobRecord Apply(JobRecord record, JobStarted started)
    {
        record.User = started.User;
        record.Nodes = [.. started.Nodes];
        record.Allocation = started.Allocation.Over(record.Allocation);
        record.Cluster = started.Cluster ?? record.Cluster;
        (string, object?)[] scheduler =
        [
            ("partition", started.Partition),
            ("account", started.Account),
            ("qos", started.Qos),
            ("time_limit_minutes", started.TimeLimitMinutes),
        ];

        // Compared by value: the stored text may be formatted differently (PostgreSQL's jsonb).
        if (!SchedulerJson.Has(record.SchedulerJson, scheduler))
        {
            record.SchedulerJson = SchedulerJson.With(record.SchedulerJson, scheduler);
        }

        return record;
    }

    private static List<string> Differences(JobRecord before, JobRecord after)
    {
        var changed = new List<string>();
        if (before.State != after.State)
        {
            changed.Add("state");
        }

        if (before.User != after.User)
        {
            changed.Add("user");
        }

        if (!before.Nodes.SequenceEqual(after.Nodes))
        {
            changed.Add("nodes");
        }

        if (!before.Allocation.SameAs(after.Allocation))
        {
            changed.Add("allocation");
        }

        if (before.Cluster != after.Cluster)
        {
            changed.Add("cluster");
        }

        if (before.SchedulerJson != after.SchedulerJson)
        {
            changed.Add("scheduler");
        }

        return changed;
    }

    internal static AuditEntry Audit(
        DateTimeOffset at, string change, JobState? from, JobState? to, WriteContext context, string? details = null) =>
        new(at, change, from, to, context.ChangedBy, context.Source, context.CorrelationId, details);

    internal static string Details(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }
}
