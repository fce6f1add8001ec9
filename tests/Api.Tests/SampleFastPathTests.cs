using System.Text.Json;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains;
using Xunit;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The ingest fast path must accept exactly what the field-by-field reader accepts, with the same
/// sample: it only skips the reader's bookkeeping, never a rule. Every input here goes through both.
/// </summary>
public sealed class SampleFastPathTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly FieldNames BatchNames = new("job_id", "cpu_usage", "memory_usage_mb", "gpu_usage", "timestamp");
    private static readonly FieldNames SampleNames = new("cpu_usage", "memory_usage_mb", "gpu_usage", "timestamp");

    public static TheoryData<string> Objects() =>
    [
        """{"job_id":"a","cpu_usage":1.5,"memory_usage_mb":10}""",
        """{"jobId":"a","cpuUsage":1.5,"memoryUsageMb":10,"gpuUsage":99.9}""",
        """{"job_id":"a","cpu_usage":0,"memory_usage_mb":0,"gpu_usage":null,"timestamp":null}""",
        """{"job_id":"a","cpu_usage":100,"memory_usage_mb":1099511627776,"timestamp":"2026-01-02T03:04:05.123456789Z"}""",
        """{"job_id":"a","cpu_usage":100,"memory_usage_mb":1099511627777}""",
        """{"job_id":"a","cpu_usage":100.0001,"memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":-0.0,"memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":-1,"memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":"5","memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":null,"memory_usage_mb":1}""",
        """{"job_id":"a","memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":1}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1.5}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1e3}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":-1}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"gpu_usage":101}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"gpu_usage":"x"}""",
        """{"job_id":"a","cpu_usage":1e400,"memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":"yesterday"}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":12}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":"2026-01-02t03:04:05+02:00"}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":"2026-01-02T03:04:05\u002E5Z"}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":"\u0032026-01-02T03:04:05Z"}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":"٢٠٢٦-01-02T03:04:05Z"}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":"2026-01-02T03:04:05.1234567890123456789012345Z"}""",
        """{"job_id":"a","cpu_usage":1,"memory_usage_mb":1,"timestamp":""}""",
        """{"job_id":"a","cpu_usage":1,"cpuUsage":2,"memory_usage_mb":1}""",
        """{"job_id":"a","cpu_usage":1,"cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":"a","job_id":"a","cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":"a","cpu\u005fusage":7,"memory_usage_mb":1}""",
        """{"job_id":"a","CPU_USAGE":7,"memory_usage_mb":1,"unknown":[1,2,{"x":1}]}""",
        """{"job_id":"","cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":null,"cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":5,"cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":"a/b","cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":"a\u0000b","cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":"a\tb","cpu_usage":1,"memory_usage_mb":1}""",
        """{"job_id":"x{a=\"b\"}%","cpu_usage":1,"memory_usage_mb":1}""",
        """{"cpu_usage":1,"memory_usage_mb":1}""",
        """[1,2]""",
        "\"text\"",
        "null",
    ];

    [Theory]
    [MemberData(nameof(Objects))]
    public void Batch_item_fast_path_agrees_with_the_field_reader(string json)
    {
        var item = JsonDocument.Parse(json).RootElement;
        var jobs = new BatchJobIds();
        var fast = SampleFastPath.TryRead(item, jobs, Now, out var fastJob, out var fastSample);

        var fields = Fields.Read(item, BatchNames);
        var slowId = fields.Text("job_id", required: true);
        if (slowId is not null && JobId.Problem(slowId) is { } problem)
        {
            fields.Fail("job_id", problem);
        }

        var slowSample = fields.HasErrors ? null : SampleRequest.Read(fields, Now);
        var slowValid = !fields.HasErrors;

        Assert.Equal(slowValid, fast);
        if (fast)
        {
            Assert.Equal(slowId, jobs[fastJob]);
            Assert.Equal(slowSample, fastSample);
        }
    }

    [Theory]
    [MemberData(nameof(Objects))]
    public void Single_sample_fast_path_agrees_with_the_field_reader(string json)
    {
        var root = JsonDocument.Parse(json).RootElement;
        var fast = SampleFastPath.TryRead(root, jobs: null, Now, out _, out var fastSample);

        var fields = Fields.Read(root, SampleNames);
        var slowSample = fields.HasErrors ? null : SampleRequest.Read(fields, Now);

        Assert.Equal(!fields.HasErrors, fast);
        if (fast)
        {
            Assert.Equal(slowSample, fastSample);
        }
    }

    [Fact]
    public void Parse_answers_the_field_readers_error_when_the_fast_path_declines()
    {
        var root = JsonDocument.Parse("""{"cpu_usage":101,"cpuUsage":1}""").RootElement;

        var sample = SampleRequest.Parse(root, Now, out var error);

        Assert.Null(sample);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Default_timestamp_is_now_truncated_to_the_microsecond()
    {
        var now = Now.AddTicks(7);
        var root = JsonDocument.Parse("""{"cpu_usage":1,"memory_usage_mb":2}""").RootElement;

        Assert.True(SampleFastPath.TryRead(root, jobs: null, now, out _, out var sample));
        Assert.Equal(new UsageSample(Now, 1, 2, null), sample);
    }
}
