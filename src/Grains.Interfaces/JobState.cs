namespace HpcJobs.Grains;

/// <summary>The lifecycle state of a job. Numeric values are persisted: never renumber.</summary>
public enum JobState
{
    Pending = 0,
    Running = 1,
    Completed = 2,
    Failed = 3,
    Cancelled = 4,
}

/// <summary>The contract's state machine, in one place.</summary>
public static class JobStateMachine
{
    public static IReadOnlyList<JobState> All { get; } =
        [JobState.Pending, JobState.Running, JobState.Completed, JobState.Failed, JobState.Cancelled];

    public static bool IsTerminal(this JobState state) =>
        state is JobState.Completed or JobState.Failed or JobState.Cancelled;

    /// <summary>Whether <paramref name="from"/> may move to <paramref name="to"/>; same-state is allowed as a no-op.</summary>
    public static bool CanMove(JobState from, JobState to) => from == to || (from, to) switch
    {
        (JobState.Pending, JobState.Running or JobState.Failed or JobState.Cancelled) => true,
        (JobState.Running, JobState.Completed or JobState.Failed or JobState.Cancelled) => true,
        _ => false,
    };

    public static string ToWire(this JobState state) => state switch
    {
        JobState.Pending => "pending",
        JobState.Running => "running",
        JobState.Completed => "completed",
        JobState.Failed => "failed",
        JobState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static bool TryParse(string? text, out JobState state)
    {
        switch (text)
        {
            case "pending": state = JobState.Pending; return true;
            case "running": state = JobState.Running; return true;
            case "completed": state = JobState.Completed; return true;
            case "failed": state = JobState.Failed; return true;
            case "cancelled": state = JobState.Cancelled; return true;
            default: state = default; return false;
        }
    }
}
