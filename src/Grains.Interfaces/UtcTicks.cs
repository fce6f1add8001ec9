namespace HpcJobs.Grains;

/// <summary>
/// An instant kept in a <see cref="long"/> field as UTC ticks: 8 bytes where a
/// <see cref="DateTimeOffset"/> takes 16 and a nullable one 24, in the objects every active job
/// holds (docs/benchmarks.md, "Memory per active job"). The offset is not kept; every time in the
/// service is UTC, and two instants compare equal whatever their offsets.
/// </summary>
public static class UtcTicks
{
    /// <summary>Stands for no instant; ticks are never negative.</summary>
    public const long None = long.MinValue;

    public static long Of(DateTimeOffset at) => at.UtcTicks;

    public static long Of(DateTimeOffset? at) => at?.UtcTicks ?? None;

    public static DateTimeOffset At(long ticks) => new(ticks, TimeSpan.Zero);

    public static DateTimeOffset? AtOrNull(long ticks) => ticks == None ? null : new(ticks, TimeSpan.Zero);
}
