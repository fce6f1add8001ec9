namespace HpcJobs.Grains;

/// <summary>A job's lifecycle as persisted through Orleans grain storage. Usage is not here: it lives in the sample log.</summary>
[GenerateSerializer, Alias("hpc.JobRecord")]
public sealed class JobRecord
{
    [Id(0)]
    public string User { get; set; } = string.Empty;

    [Id(1)]
    public List<string> Nodes { get; set; } = [];

    [Id(2)]
    public JobState State { get; set; }

    [Id(3)]
    public DateTimeOffset StartTime { get; set; }

    [Id(4)]
    public DateTimeOffset? EndTime { get; set; }

    [Id(5)]
    public string? SchedulerJson { get; set; }
}
