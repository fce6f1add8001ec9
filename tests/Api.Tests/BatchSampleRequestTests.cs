using System.Text.Json;
using HpcJobs.Api.Contracts;
using Xunit;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A batch's valid samples come grouped by job, each group in request order with the samples'
/// positions, the jobs in order of first appearance; a job id named again is the same string, read once.
/// </summary>
public sealed class BatchSampleRequestTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Groups_by_job_in_order_of_first_appearance_with_each_samples_position()
    {
        var batch = Parse(
            """{"job_id":"b","cpu_usage":1,"memory_usage_mb":1}""",
            """{"job_id":"a","cpu_usage":2,"memory_usage_mb":2}""",
            """{"job_id":"b","cpu_usage":3,"memory_usage_mb":3}""",
            """{"job_id":"c","cpu_usage":400,"memory_usage_mb":4}""",
            """{"job_id":"b","cpu_usage":5,"memory_usage_mb":5}""",
            """{"job_id":"a","cpu_usage":6,"memory_usage_mb":6}""");

        Assert.Equal(["b", "a"], batch.Jobs.Select(job => job.JobId));
        Assert.Equal([0, 2, 4], batch.Jobs[0].Indexes);
        Assert.Equal([1.0, 3, 5], batch.Jobs[0].Samples.Select(sample => sample.CpuUsage));
        Assert.Equal([1, 5], batch.Jobs[1].Indexes);
        Assert.Equal([2.0, 6], batch.Jobs[1].Samples.Select(sample => sample.CpuUsage));
        // Job c is named only by a refused sample: it has no group.
        Assert.Equal(3, Assert.Single(batch.Rejected).Index);
    }

    [Fact]
    public void A_job_named_again_is_the_same_string_also_when_escaped_or_read_by_the_field_reader()
    {
        var batch = Parse(
            """{"job_id":"job-1","cpu_usage":1,"memory_usage_mb":1}""",
            """{"job_id":"job\u002d1","cpu_usage":2,"memory_usage_mb":2}""",
            """{"jobId":"job-1","cpu_usage":3,"memory_usage_mb":3,"unknown":1,"unknown":2}""",
            """{"job_id":"job-1","cpu_usage":4,"cpu_usage":4,"memory_usage_mb":4}""",
            """{"job_id":"job-1","cpu_usage":5,"memoryUsageMb":5}""");

        var job = Assert.Single(batch.Jobs);
        Assert.Equal("job-1", job.JobId);
        Assert.Equal([0, 1, 2, 4], job.Indexes);
        Assert.Equal(3, Assert.Single(batch.Rejected).Index);
    }

    [Fact]
    public void Job_ids_are_numbered_once_and_read_from_the_bytes_when_seen_before()
    {
        var jobs = new BatchJobIds();
        var first = JsonDocument.Parse("\"gpu-7\"").RootElement;
        var again = JsonDocument.Parse("\"gpu-7\"").RootElement;
        var escaped = JsonDocument.Parse("\"gpu\\u002d7\"").RootElement;
        var other = JsonDocument.Parse("\"ün-1\"").RootElement;

        Assert.True(jobs.TryRead(first, out var a));
        Assert.True(jobs.TryRead(again, out var b));
        Assert.True(jobs.TryRead(escaped, out var c));
        Assert.True(jobs.TryRead(other, out var d));
        Assert.True(jobs.TryRead(JsonDocument.Parse("\"ün-1\"").RootElement, out var e));

        Assert.Equal((0, 0, 0, 1, 1), (a, b, c, d, e));
        Assert.Equal(2, jobs.Count);
        Assert.Equal("ün-1", jobs[1]);
    }

    [Theory]
    [InlineData("\"a/b\"")]
    [InlineData("\"\"")]
    [InlineData("\" \"")]
    [InlineData("\"a\\u0000b\"")]
    [InlineData("5")]
    [InlineData("null")]
    public void An_invalid_job_id_is_refused_also_after_a_valid_one(string json)
    {
        var jobs = new BatchJobIds();
        Assert.True(jobs.TryRead(JsonDocument.Parse("\"a\"").RootElement, out _));

        Assert.False(jobs.TryRead(JsonDocument.Parse(json).RootElement, out _));
        Assert.Equal(1, jobs.Count);
    }

    [Fact]
    public void A_job_id_longer_than_the_limit_is_refused_and_one_at_the_limit_is_read_again()
    {
        var jobs = new BatchJobIds();
        var longest = new string('x', Limits.MaxTextLength);

        Assert.True(jobs.TryRead(JsonDocument.Parse($"\"{longest}\"").RootElement, out var first));
        Assert.True(jobs.TryRead(JsonDocument.Parse($"\"{longest}\"").RootElement, out var second));
        Assert.False(jobs.TryRead(JsonDocument.Parse($"\"{longest}x\"").RootElement, out _));
        Assert.Equal(first, second);
    }

    private static ParsedBatch Parse(params string[] samples)
    {
        var root = JsonDocument.Parse($$"""{"samples":[{{string.Join(",", samples)}}]}""").RootElement;
        var batch = BatchSampleRequest.Parse(root, Now, out var error);
        Assert.Null(error);
        return batch!;
    }
}
