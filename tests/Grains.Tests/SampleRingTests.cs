namespace HpcJobs.Grains.Tests;

/// <summary>The job's recent samples: an array that grows as samples arrive, then a ring of fixed size.</summary>
public sealed class SampleRingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static UsageSample Sample(int i) => new(T0.AddSeconds(i), i, 1000, null);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(40)]
    public void ToList_IsTheNewestUpToCapacity_InArrivalOrder_AcrossGrowthAndWrap(int added)
    {
        var ring = new SampleRing(16);
        for (var i = 0; i < added; i++)
        {
            ring.Add(Sample(i));
        }

        var expected = Enumerable.Range(Math.Max(0, added - 16), Math.Min(added, 16)).Select(Sample);
        Assert.Equal(expected, ring.ToList());
    }

    [Fact]
    public void Clear_EmptiesIt_AndItFillsAgain()
    {
        var ring = new SampleRing(4);
        for (var i = 0; i < 6; i++)
        {
            ring.Add(Sample(i));
        }

        ring.Clear();
        Assert.Empty(ring.ToList());

        ring.Add(Sample(10));
        ring.Add(Sample(11));
        ring.Add(Sample(12));
        Assert.Equal([Sample(10), Sample(11), Sample(12)], ring.ToList());
    }
}
