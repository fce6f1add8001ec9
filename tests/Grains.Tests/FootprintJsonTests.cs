namespace HpcJobs.Grains.Tests;

/// <summary>
/// The footprint as the jobs row stores it (StorageJson): the format is what rows written by earlier
/// versions hold, so it must read back and write out unchanged whatever the in-memory layout.
/// </summary>
public sealed class FootprintJsonTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    /// <summary>Written by 147a522 (positional records, nullable maxima, open samples as objects).</summary>
    private const string Stored =
        """{"attempt":2,"nodes":[{"node":"n1","samples":6,"first":"2026-12-01T08:00:00+00:00","last":"2026-12-01T08:02:30+00:00","cpu_sum":3030,"covered_seconds":60,"gpu_sum":300,"gpu_seconds":60,"gpu_idle_seconds":30,"max_cpu":55,"max_gpu":50,"max_peak_mb":2005,"oom_kills":1,"open":[{"at":"2026-12-01T08:01:00+00:00","cpu":52,"gpu":20},{"at":"2026-12-01T08:01:30+00:00","cpu":53,"gpu":30},{"at":"2026-12-01T08:02:00+00:00","cpu":54,"gpu":40},{"at":"2026-12-01T08:02:30+00:00","cpu":55,"gpu":50}]},{"node":"n2","samples":1,"first":"2026-12-01T08:00:45+00:00","last":"2026-12-01T08:00:45+00:00","cpu_sum":0,"covered_seconds":0,"gpu_sum":0,"gpu_seconds":0,"gpu_idle_seconds":0,"max_cpu":7.5,"oom_kills":0,"open":[{"at":"2026-12-01T08:00:45+00:00","cpu":7.5}]},{"node":"","samples":1,"first":"2026-12-01T08:01:00+00:00","last":"2026-12-01T08:01:00+00:00","cpu_sum":0,"covered_seconds":0,"gpu_sum":0,"gpu_seconds":0,"gpu_idle_seconds":0,"max_cpu":99,"oom_kills":0,"open":[{"at":"2026-12-01T08:01:00+00:00","cpu":99}]}],"max_memory_mb":0,"sample_count":8,"counted_until":"2026-12-01T08:00:45+00:00"}""";

    private static Footprint Known()
    {
        var footprint = Footprint.Empty(2);
        var cap = TimeSpan.FromSeconds(90);
        // Node n1 with GPU and memory peaks, six samples (four stay open); node n2 with one sample
        // and no GPU, no peak; one whole-job sample.
        for (var i = 0; i < 6; i++)
        {
            footprint = footprint.With(new UsageSample(T0.AddSeconds(30 * i), 50 + i, 1000 + i, 10 * i, "n1", null, 2000 + i, i == 5 ? 1 : null), cap, 5);
        }

        footprint = footprint.With(new UsageSample(T0.AddSeconds(45), 7.5, 300, null, "n2"), cap, 5);
        return footprint.With(new UsageSample(T0.AddSeconds(60), 99, 4000, null), cap, 5);
    }

    [Fact]
    public void FootprintJson_IsTheStoredFormat()
    {
        Assert.Equal(Stored, Storage.StorageJson.FootprintJson(Known()));
    }

    [Fact]
    public void StoredFootprint_ReadsBack_WithItsNoneValues()
    {
        var read = Storage.StorageJson.ReadFootprint(Stored)!;

        Assert.Equal(Stored, Storage.StorageJson.FootprintJson(read));
        var n2 = read.Nodes.Single(n => n.Node == "n2");
        Assert.Null(n2.MaxGpu);
        Assert.Null(n2.MaxPeakMb);
        Assert.Equal(7.5, n2.MaxCpu);
        Assert.Null(n2.Open.Single().Gpu);
        var n1 = read.Nodes.Single(n => n.Node == "n1");
        Assert.Equal(50, n1.MaxGpu);
        Assert.Equal(2005, n1.MaxPeakMb);
        Assert.Equal(T0, n1.First);
        Assert.Equal(T0.AddSeconds(150), n1.Last);
        Assert.Equal(Footprint.OpenSamples, n1.Open.Length);
    }
}
