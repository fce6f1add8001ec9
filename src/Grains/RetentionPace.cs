namespace HpcJobs.Grains;

/// <summary>
/// How hard one retention pass may press on the database. On SQLite every delete runs on the one
/// writer that also commits ingest, so a batch holds back every sample queued behind it: measured on
/// 1,000,000 expired samples (bench/retention.sh), back-to-back batches of 5,000 cut single-sample
/// ingest from 9,900 to 2,100 requests/s and lifted its p99 from 32 to 157 ms. So each batch is sized
/// to take about <see cref="RetentionOptions.BatchTime"/>, and the pass rests between batches so that
/// it holds the writer at most <see cref="RetentionOptions.WriterShare"/> of the time.
/// </summary>
public sealed class RetentionPace(RetentionOptions options)
{
    private const int SmallestBatch = 100;

    /// <summary>Samples to delete in the next batch.</summary>
    public int NextBatch { get; private set; } = Math.Min(options.BatchSize, 1_000);

    /// <summary>Records a batch that deleted <paramref name="deleted"/> of the <see cref="NextBatch"/> asked for in <paramref name="took"/>; returns the rest before the next.</summary>
    public TimeSpan Record(int deleted, TimeSpan took)
    {
        if (deleted > 0 && took > TimeSpan.Zero)
        {
            // Aim the next batch at the target time, moving at most a factor of two at once (one slow
            // batch, say behind a checkpoint, should not shrink the rest to nothing).
            var aimed = deleted * (options.BatchTime / took);
            NextBatch = (int)Math.Clamp(aimed, Math.Max(SmallestBatch, NextBatch / 2), Math.Min(options.BatchSize, NextBatch * 2L));
        }

        var share = Math.Clamp(options.WriterShare, 0.01, 1.0);
        return took * ((1 - share) / share);
    }
}
