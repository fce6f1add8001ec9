namespace HpcJobs.Grains.Tests;

/// <summary>The instants every active job keeps as UTC ticks (UtcTicks) read back as the same instants, and none as none.</summary>
public sealed class UtcTicksTests
{
    private static readonly DateTimeOffset Local = new(2026, 12, 1, 10, 0, 0, 123, TimeSpan.FromHours(2));

    [Fact]
    public void JobRecord_KeepsItsTimes_AsTheSameInstantsInUtc()
    {
        var record = new JobRecord { StartTime = Local, EndTime = Local.AddHours(1), UpdatedAt = DateTimeOffset.MinValue };

        Assert.Equal(Local, record.StartTime);
        Assert.Equal(TimeSpan.Zero, record.StartTime.Offset);
        Assert.Equal(Local.AddHours(1), record.EndTime);
        Assert.Equal(DateTimeOffset.MinValue, record.UpdatedAt);

        record.EndTime = null;
        Assert.Null(record.EndTime);
        Assert.Null(new JobRecord().UpdatedAt);
        Assert.Equal(DateTimeOffset.MinValue, new JobRecord().StartTime);
    }

    [Fact]
    public void JobFacts_KeepTheirTimes()
    {
        var facts = new JobFacts(Local, null, JobState.Running, JobAllocation.None, 1, null);

        Assert.Equal(Local, facts.Start);
        Assert.Null(facts.End);
        Assert.Equal(Local, (facts with { State = JobState.Completed }).Start);
        Assert.Equal(Local.AddDays(1), new JobFacts(Local, Local.AddDays(1), JobState.Completed, JobAllocation.None, 1, null).End);
    }

    [Fact]
    public void None_IsNoInstant_AndTheExtremesAreInstants()
    {
        Assert.Null(UtcTicks.AtOrNull(UtcTicks.Of((DateTimeOffset?)null)));
        Assert.Equal(DateTimeOffset.MinValue, UtcTicks.AtOrNull(UtcTicks.Of((DateTimeOffset?)DateTimeOffset.MinValue)));
        Assert.Equal(DateTimeOffset.MaxValue, UtcTicks.At(UtcTicks.Of(DateTimeOffset.MaxValue)));
    }
}
