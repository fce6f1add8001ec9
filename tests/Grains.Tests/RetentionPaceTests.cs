namespace HpcJobs.Grains.Tests;

public sealed class RetentionPaceTests
{
    private static readonly RetentionOptions Options = new() { BatchSize = 5_000, BatchTime = TimeSpan.FromMilliseconds(10), WriterShare = 0.25 };

    [Fact]
    public void Rests_ThreeTimesTheBatch_WhenAQuarterOfTheWriterIsAllowed()
    {
        var pace = new RetentionPace(Options);

        Assert.Equal(TimeSpan.FromMilliseconds(30), pace.Record(pace.NextBatch, TimeSpan.FromMilliseconds(10)));
    }

    [Fact]
    public void SlowBatches_Shrink_TowardsTheTargetTime_AtMostHalfAtATime()
    {
        var pace = new RetentionPace(Options);
        Assert.Equal(1_000, pace.NextBatch);

        pace.Record(1_000, TimeSpan.FromMilliseconds(100)); // ten times too slow
        Assert.Equal(500, pace.NextBatch);
        pace.Record(500, TimeSpan.FromMilliseconds(50));
        Assert.Equal(250, pace.NextBatch);
        for (var i = 0; i < 10; i++)
        {
            pace.Record(pace.NextBatch, TimeSpan.FromSeconds(1));
        }

        Assert.Equal(100, pace.NextBatch);
    }

    [Fact]
    public void FastBatches_Grow_UpToTheBatchSize()
    {
        var pace = new RetentionPace(Options);

        pace.Record(1_000, TimeSpan.FromMilliseconds(4)); // 2.5 times faster than the target
        Assert.Equal(2_000, pace.NextBatch);
        pace.Record(2_000, TimeSpan.FromMilliseconds(8));
        Assert.Equal(2_500, pace.NextBatch);
        for (var i = 0; i < 10; i++)
        {
            pace.Record(pace.NextBatch, TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(5_000, pace.NextBatch);
    }

    [Fact]
    public void AnEmptyBatch_LeavesTheSizeAlone()
    {
        var pace = new RetentionPace(Options);

        pace.Record(0, TimeSpan.FromMilliseconds(3));

        Assert.Equal(1_000, pace.NextBatch);
    }
}
