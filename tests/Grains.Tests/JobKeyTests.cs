namespace HpcJobs.Grains.Tests;

public sealed class JobKeyTests
{
    [Theory]
    [InlineData("12345_7")]
    [InlineData("x{a=\"b\",c} 1 # z")]
    [InlineData("100%{}%7B")]
    [InlineData("%25")]
    public void GrainKey_RoundTrips_AndHoldsNoBraces(string id)
    {
        var key = JobKey.ToGrainKey(id);

        Assert.Equal(id, JobKey.FromGrainKey(key));
        Assert.DoesNotContain('{', key);
        Assert.DoesNotContain('}', key);
    }

    [Fact]
    public void GrainKey_IsTheIdItself_ForOrdinaryIds() => Assert.Equal("12345.0", JobKey.ToGrainKey("12345.0"));
}
