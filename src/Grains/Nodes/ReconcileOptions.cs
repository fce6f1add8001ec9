namespace HpcJobs.Grains.Nodes;

public sealed class ReconcileOptions
{
    /// <summary>
    /// A running job none of whose nodes has listed it for this long, while each kept sending
    /// heartbeats, is ended as lost (<c>RECONCILE_AFTER_SECONDS</c>); zero turns reconciliation off.
    /// </summary>
    public TimeSpan After { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>How often the reconciler's pass runs (<c>RECONCILE_INTERVAL_SECONDS</c>).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Two heartbeats further apart than this are a gap: the node's run of heartbeats starts again,
    /// and nothing it did not list before the gap counts against a job (3 agent intervals, at most <see cref="After"/>).
    /// </summary>
    public TimeSpan MaxGap { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Running jobs read per query of a pass (keyset pages by id).</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>At most this many jobs are ended per pass, so that a misconfigured fleet of agents cannot end every job at once.</summary>
    public int MaxEndsPerPass { get; set; } = 1000;

    public bool Enabled => After > TimeSpan.Zero;
}
