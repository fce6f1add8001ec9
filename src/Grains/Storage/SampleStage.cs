namespace HpcJobs.Grains.Storage;

/// <summary>One append of a job's samples in a group commit, and which of them were stored already.</summary>
internal class SampleAppend(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage) : GroupWrite<AppendResult>
{
    /// <summary>
    /// Both logs store samples under the key the job's row was given (<see cref="JobUsage.JobKey"/>,
    /// which the grain hands over); samples under no row's key would be out of reach of every read and
    /// of the job's delete, so an append without one is refused before it is queued.
    /// </summary>
    public static void RequireJobKey(string jobId, JobUsage usage)
    {
        if (usage.JobKey <= 0)
        {
            throw new ArgumentException($"job {jobId} has no job key: samples are stored under the key its row was given", nameof(usage));
        }
    }

    private AppendResult? _duplicates;

    public string JobId => jobId;

    public IReadOnlyList<UsageSample> Samples => samples;

    public JobUsage Usage => usage;

    public bool IsDuplicate(int index) => _duplicates?.IsDuplicate(index) ?? false;

    public void MarkDuplicate(int index, UsageSample stored)
    {
        _duplicates ??= AppendResult.WithDuplicates(samples.Count);
        _duplicates.MarkDuplicate(index, stored);
    }

    /// <summary>Applied again alone after a failed batch: start from nothing.</summary>
    public void Reset() => _duplicates = null;

    public override void Complete()
    {
        Result = _duplicates ?? AppendResult.AllStored;
        base.Complete();
    }
}

/// <summary>
/// The sample work of one transaction, the same on both backends: a sample repeated within the batch
/// is a duplicate of its first copy (the unique key alone would only skip it, without saying which
/// copy was stored); each sample the database inserted is staged in its job's <see cref="JobUsage"/>,
/// whose staged latest usage (and the footprint the grain prepared, when one is due) the committer
/// writes into the jobs row; the stages commit
/// or are discarded with the transaction. Used only by the group-commit loop, one batch at a time.
/// </summary>
internal sealed class SampleStage
{
    private readonly Dictionary<(string JobId, string Node, long Ts), UsageSample> _queued = [];
    private readonly List<JobUsage> _staged = [];

    /// <summary>The jobs whose rows the transaction must update.</summary>
    public IReadOnlyList<JobUsage> Staged => _staged;

    /// <summary>Whether sample <paramref name="index"/> is the batch's first copy; a later copy is marked a duplicate of the first.</summary>
    public bool Queue(SampleAppend append, int index)
    {
        var sample = append.Samples[index];
        var key = (append.JobId, sample.Node ?? string.Empty, MicrosecondTime.ToUnixMicroseconds(sample.Timestamp));
        if (_queued.TryGetValue(key, out var first))
        {
            append.MarkDuplicate(index, first);
            return false;
        }

        _queued.Add(key, sample);
        return true;
    }

    /// <summary>A sample the transaction inserted.</summary>
    public void Stage(JobUsage usage, UsageSample sample)
    {
        if (!usage.IsStaged)
        {
            _staged.Add(usage);
        }

        usage.Stage(sample);
    }

    /// <summary>
    /// An append of no sample: the transaction writes the job's row anyway, with the footprint the
    /// grain prepared (<see cref="JobUsage.PrepareRow"/>) when its flags changed.
    /// </summary>
    public void Touch(JobUsage usage)
    {
        if (usage.Touch())
        {
            _staged.Add(usage);
        }
    }

    /// <summary>The transaction committed: the staged usage becomes the jobs' latest.</summary>
    public void Commit() => End(usage => usage.Commit());

    public void Discard() => End(usage => usage.Discard());

    private void End(Action<JobUsage> end)
    {
        foreach (var usage in _staged)
        {
            end(usage);
        }

        _staged.Clear();
        _queued.Clear();
    }
}
