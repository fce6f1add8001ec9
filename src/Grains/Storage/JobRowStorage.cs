using System.Globalization;
using Orleans.Storage;

namespace HpcJobs.Grains.Storage;

/// <summary>
/// A job grain's storage is its jobs row. The lifecycle (user, nodes, state, times, scheduler) is
/// the row's columns and the ETag is its <c>version</c>, so a create, a transition or a delete is
/// one statement group in one transaction — together with the job-nodes entries and the "jobs ever
/// created" counter — and the state the grain stored can never disagree with what list, counts and
/// a restarted silo read. (Earlier releases stored the state through Orleans' storage and the row
/// separately; a failure between the two left them apart: docs/architecture.md.)
/// </summary>
public abstract class JobRowStorage : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var state = Cast(grainState);
        var (record, version) = await ReadAsync(JobId(grainId)).ConfigureAwait(false);
        state.State = record ?? new JobRecord();
        state.ETag = record is null ? null : version.ToString(CultureInfo.InvariantCulture);
        state.RecordExists = record is not null;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var state = Cast(grainState);
        var expected = ParseETag(state.ETag);
        var id = JobId(grainId);
        var written = expected is { } version
            ? await UpdateAsync(id, state.State!, version).ConfigureAwait(false)
            : await InsertAsync(id, state.State!).ConfigureAwait(false);
        if (!written)
        {
            throw new InconsistentStateException($"stale version writing job {id}", "unknown", state.ETag ?? "none");
        }

        state.ETag = ((expected ?? 0) + 1).ToString(CultureInfo.InvariantCulture);
        state.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var state = Cast(grainState);
        var id = JobId(grainId);
        if (ParseETag(state.ETag) is { } version && !await DeleteAsync(id, version).ConfigureAwait(false))
        {
            throw new InconsistentStateException($"stale version deleting job {id}", "unknown", state.ETag ?? "none");
        }

        state.State = new JobRecord();
        state.ETag = null;
        state.RecordExists = false;
    }

    /// <summary>The row's lifecycle and version, or null when there is no row.</summary>
    protected abstract Task<(JobRecord? Record, long Version)> ReadAsync(string jobId);

    /// <summary>Inserts the row (version 1), its node entries and one more "job created", or returns false if a row exists.</summary>
    protected abstract Task<bool> InsertAsync(string jobId, JobRecord record);

    /// <summary>Rewrites the lifecycle columns and node entries if the row is at <paramref name="version"/>, which it increments.</summary>
    protected abstract Task<bool> UpdateAsync(string jobId, JobRecord record, long version);

    /// <summary>Removes the row, its node entries and its samples if the row is at <paramref name="version"/>.</summary>
    protected abstract Task<bool> DeleteAsync(string jobId, long version);

    private static string JobId(GrainId grainId) => JobKey.FromGrainKey(grainId.Key.ToString()!);

    private static IGrainState<JobRecord> Cast<T>(IGrainState<T> state) =>
        state as IGrainState<JobRecord>
        ?? throw new NotSupportedException($"job row storage holds only {nameof(JobRecord)}, not {typeof(T).Name}");

    /// <summary>The row version an ETag of this storage names; null for a job with no row.</summary>
    internal static long? ParseETag(string? etag) =>
        etag is null ? null : long.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);
}
