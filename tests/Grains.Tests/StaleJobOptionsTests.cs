namespace HpcJobs.Grains.Tests;

public sealed class StaleJobOptionsTests
{
    [Theory]
    [InlineData(0, null, 7 * 24.0)]
    [InlineData(0, """{"time_limit_minutes":90}""", 3.0)]
    [InlineData(0, """{"time_limit_minutes":0}""", 7 * 24.0)]
    [InlineData(0, """{"partition":"debug"}""", 7 * 24.0)]
    [InlineData(5, """{"time_limit_minutes":90}""", 5.0)]
    [InlineData(5, null, 5.0)]
    public void LimitFor_SettingElseTwiceTheTimeLimitElseAWeek(int hours, string? scheduler, double expectedHours)
    {
        var options = new StaleJobOptions { Hours = hours };

        Assert.Equal(TimeSpan.FromHours(expectedHours), options.LimitFor(scheduler));
    }

    [Fact]
    public void IsStale_AtTheLimit_NotJustBefore()
    {
        var options = new StaleJobOptions();
        var last = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.False(options.IsStale(last, 60, last.AddHours(2).AddTicks(-1)));
        Assert.True(options.IsStale(last, 60, last.AddHours(2)));
    }
}
