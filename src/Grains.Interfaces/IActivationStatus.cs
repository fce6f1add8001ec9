namespace HpcJobs.Grains;

/// <summary>
/// Progress of the silo's re-activation of pending and running jobs (after the cluster starts or a
/// silo leaves) and of its stale-job deactivations, exported on <c>/metrics</c>.
/// </summary>
public interface IActivationStatus
{
    /// <summary>Passes under way on this silo (only the oldest active silo runs them).</summary>
    int Running { get; }

    /// <summary>Passes that went through every active job; a benchmark or an operator waits for this to move.</summary>
    long CompletedRuns { get; }

    /// <summary>The last pass that went through every active job, or null before the first.</summary>
    ActivationRun? LastCompleted { get; }

    /// <summary>
    /// Re-activation calls this silo made to job grains: one per active job in a pass, plus one per job
    /// that Orleans dropped after a pass had reached it. Summed over the silos, what a departure cost.
    /// </summary>
    long ReactivationCalls { get; }

    /// <summary>Jobs this silo deactivated because nothing touched them for their stale limit.</summary>
    long StaleDeactivations { get; }
}

/// <summary>One pass of the re-activation over every active job; <see cref="Stale"/> were left alone.</summary>
public sealed record ActivationRun(int Jobs, TimeSpan Duration, int Stale = 0);
