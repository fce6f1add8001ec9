namespace HpcJobs.Grains;

/// <summary>
/// Progress of the silo's re-activation of pending and running jobs (after the cluster starts or a
/// silo leaves), exported on <c>/metrics</c>.
/// </summary>
public interface IActivationStatus
{
    /// <summary>Runs under way on this silo (the silo holding the job-count grain, or every silo after one left).</summary>
    int Running { get; }

    /// <summary>Runs that went through every active job; a benchmark or an operator waits for this to move.</summary>
    long CompletedRuns { get; }

    /// <summary>The last run that went through every active job, or null before the first.</summary>
    ActivationRun? LastCompleted { get; }
}

/// <summary>One pass of the re-activation over every active job.</summary>
public sealed record ActivationRun(int Jobs, TimeSpan Duration);
