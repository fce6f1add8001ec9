namespace HpcJobs.Grains;

/// <summary>
/// A job's latest usage as its stored samples define it: the newest sample of each node and the
/// newest whole-job sample, and <see cref="LatestUsage.Combine"/> of them. The sample writer stages
/// each sample it actually inserted (never a duplicate), writes the staged latest usage into the jobs
/// row in the same transaction, and commits or discards the stage with it; so the row, the grain and
/// the log agree, and a rolled-back batch leaves no trace here. Staging runs only on the writer's
/// loop (one at a time); readers see <see cref="Latest"/>, replaced whole on commit.
/// </summary>
public sealed class JobUsage(string jobId, TimeSpan window)
{
    private State _committed = State.Empty;
    private State? _staged;

    public string JobId { get; } = jobId;

    /// <summary>The latest usage of the committed samples, or null before the first.</summary>
    public UsageSample? Latest => _committed.Latest;

    /// <summary>The latest usage including the samples staged in the open transaction.</summary>
    public UsageSample? StagedLatest => (_staged ?? _committed).Latest;

    /// <summary>Whether samples are staged in the open transaction.</summary>
    public bool IsStaged => _staged is not null;

    /// <summary>Rebuilds the state on activation from the newest stored samples (oldest first) and the row's latest usage.</summary>
    public void Load(IReadOnlyList<UsageSample> recent, UsageSample? rowLatest)
    {
        var state = State.Empty;
        foreach (var sample in recent)
        {
            state = state.With(sample, window);
        }

        _committed = rowLatest is null ? state : state with { Latest = rowLatest };
        _staged = null;
    }

    /// <summary>Adds a sample that the open transaction inserted.</summary>
    public void Stage(UsageSample sample) => _staged = (_staged ?? _committed).With(sample, window);

    public void Commit()
    {
        if (_staged is { } staged)
        {
            _committed = staged;
            _staged = null;
        }
    }

    public void Discard() => _staged = null;

    private sealed record State(UsageSample? WholeJob, UsageSample[] ByNode, UsageSample? Latest)
    {
        public static State Empty { get; } = new(null, [], null);

        public State With(UsageSample sample, TimeSpan window)
        {
            var wholeJob = WholeJob;
            var byNode = ByNode;
            if (sample.Node is null)
            {
                wholeJob = LatestUsage.Merge(wholeJob, sample);
            }
            else
            {
                var at = Array.FindIndex(byNode, s => s.Node == sample.Node);
                if (at < 0)
                {
                    byNode = [.. byNode, sample];
                }
                else
                {
                    var merged = LatestUsage.Merge(byNode[at], sample);
                    if (!ReferenceEquals(merged, byNode[at]))
                    {
                        byNode = (UsageSample[])byNode.Clone();
                        byNode[at] = merged;
                    }
                }
            }

            if (ReferenceEquals(wholeJob, WholeJob) && ReferenceEquals(byNode, ByNode))
            {
                return this;
            }

            return new State(wholeJob, byNode, LatestUsage.Combine(wholeJob, byNode, window));
        }
    }
}
