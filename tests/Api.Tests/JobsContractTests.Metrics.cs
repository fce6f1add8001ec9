using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using System.Text;
using System.Text.Json;

namespace HpcJobs.Api.Tests;

/// <summary>POST and GET /v1/jobs/{id}/metrics: storing samples and reading history.</summary>
public abstract partial class JobsContractTests<TBackend>
{
    /// <summary>A start time before the samples these tests stamp an hour ago (a sample may not predate its job).</summary>
    private static DateTimeOffset StartedTwoHoursAgo() => AnHourAgo().AddHours(-1);

    protected async Task<JsonElement> HistoryAsync(string id, string query = "") =>
        await ExpectJsonAsync(await Client.GetAsync(JobPath(id) + "/metrics" + (query.Length > 0 ? "?" + query : string.Empty)), HttpStatusCode.OK);

    private static DateTimeOffset[] Timestamps(JsonElement history) =>
        [.. history.GetProperty("samples").EnumerateArray().Select(s => ParseTime(s.GetProperty("timestamp")))];

    /// <summary>A running job with one sample a minute at base+0..base+4 minutes, posted out of order; cpu = minute × 10.</summary>
    private async Task<(string Id, DateTimeOffset[] Times)> CreateJobWithFiveSamplesAsync()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var first = AnHourAgo().AddTicks(1230);
        var times = Enumerable.Range(0, 5).Select(m => first.AddMinutes(m)).ToArray();
        foreach (var minute in new[] { 3, 0, 4, 1, 2 })
        {
            await PostSampleAsync(id, $$"""{"cpu_usage":{{minute * 10}},"memory_usage_mb":{{minute}},"timestamp":"{{Wire(times[minute])}}"}""");
        }

        return (id, times);
    }

    [SkippableFact]
    public async Task RecordSample_Returns201WithTheStoredSample_WhenBodyValid()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var sample = await PostSampleAsync(id, """{"cpu_usage":45.5,"memory_usage_mb":2048,"gpu_usage":80.25}""");

        Assert.Equal(id, sample.GetProperty("job_id").GetString());
        Assert.InRange(ParseTime(sample.GetProperty("timestamp")), before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(45.5, sample.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(2048, sample.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(80.25, sample.GetProperty("gpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task RecordSample_OmitsGpuUsage_WhenNotReported()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var sample = await PostSampleAsync(id, """{"cpu_usage":1,"memory_usage_mb":2}""");

        Assert.False(sample.TryGetProperty("gpu_usage", out _));
        Assert.False(Assert.Single(Samples(await HistoryAsync(id))).TryGetProperty("gpu_usage", out _));
        Assert.False((await GetJobAsync(id)).TryGetProperty("gpu_usage", out _));
    }

    [SkippableFact]
    public async Task RecordSample_AcceptsCamelCaseFields_AsTheReadmeSends()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var timestamp = Wire(AnHourAgo());

        var sample = await PostSampleAsync(id, $$"""{"cpuUsage":12.5,"memoryUsageMb":256,"gpuUsage":99.5,"timestamp":"{{timestamp}}"}""");

        Assert.Equal(12.5, sample.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(256, sample.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(99.5, sample.GetProperty("gpu_usage").GetDouble());
        AssertTime(timestamp, sample.GetProperty("timestamp"));
    }

    [SkippableFact]
    public async Task RecordSample_KeepsTheGivenTimestampToTheMicrosecond_WhenTimestampGiven()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var timestamp = Wire(AnHourAgo()).Replace(".000000Z", ".123456Z", StringComparison.Ordinal);
        Assert.EndsWith(".123456Z", timestamp);

        var sample = await PostSampleAsync(id, $$"""{"cpu_usage":1,"memory_usage_mb":1,"timestamp":"{{timestamp}}"}""");

        Assert.Equal(timestamp, sample.GetProperty("timestamp").GetString());
        var stored = Assert.Single(Samples(await HistoryAsync(id)));
        Assert.Equal(timestamp, stored.GetProperty("timestamp").GetString());
    }

    [SkippableFact]
    public async Task RecordSample_StoresTimestampInUtcWithZ_WhenGivenWithOffset()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var utc = AnHourAgo();
        var local = utc.ToOffset(TimeSpan.FromHours(-5)).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'-05:00'", System.Globalization.CultureInfo.InvariantCulture);

        var sample = await PostSampleAsync(id, $$"""{"cpu_usage":1,"memory_usage_mb":1,"timestamp":"{{local}}"}""");

        var text = sample.GetProperty("timestamp").GetString();
        AssertUtcTime(text);
        Assert.Equal(utc, ParseTime(sample.GetProperty("timestamp")));
    }

    [SkippableFact]
    public async Task RecordSample_UpdatesTheJobsLatestUsage_InGetAndList()
    {
        var user = NewName("user");
        var id = (await CreateJobAsync(user: user, startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        await PostSampleAsync(id, """{"cpu_usage":10,"memory_usage_mb":100,"gpu_usage":5}""");
        await PostSampleAsync(id, """{"cpu_usage":20.5,"memory_usage_mb":200,"gpu_usage":6.5}""");

        foreach (var job in new[] { await GetJobAsync(id), (await ListAsync("user=" + user)).GetProperty("jobs")[0] })
        {
            Assert.Equal(20.5, job.GetProperty("cpu_usage").GetDouble());
            Assert.Equal(200, job.GetProperty("memory_usage_mb").GetInt64());
            Assert.Equal(6.5, job.GetProperty("gpu_usage").GetDouble());
        }
    }

    [SkippableFact]
    public async Task RecordSample_LeavesLatestUsageAlone_WhenAnOlderSampleArrivesLate()
    {
        var user = NewName("user");
        var id = (await CreateJobAsync(user: user, startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var newer = AnHourAgo().AddMinutes(10);

        await PostSampleAsync(id, $$"""{"cpu_usage":60,"memory_usage_mb":600,"timestamp":"{{Wire(newer)}}"}""");
        await PostSampleAsync(id, $$"""{"cpu_usage":10,"memory_usage_mb":100,"timestamp":"{{Wire(newer.AddMinutes(-5))}}"}""");

        foreach (var job in new[] { await GetJobAsync(id), (await ListAsync("user=" + user)).GetProperty("jobs")[0] })
        {
            Assert.Equal(60, job.GetProperty("cpu_usage").GetDouble());
            Assert.Equal(600, job.GetProperty("memory_usage_mb").GetInt64());
        }
    }

    [SkippableFact]
    public async Task RecordSample_KeepsTheLastReportedGpu_WhenALaterSampleHasNoGpu()
    {
        var user = NewName("user");
        var id = (await CreateJobAsync(user: user, startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        await PostSampleAsync(id, """{"cpu_usage":10,"memory_usage_mb":100,"gpu_usage":40}""");
        await PostSampleAsync(id, """{"cpu_usage":30,"memory_usage_mb":300}""");

        foreach (var job in new[] { await GetJobAsync(id), (await ListAsync("user=" + user)).GetProperty("jobs")[0] })
        {
            Assert.Equal(30, job.GetProperty("cpu_usage").GetDouble());
            Assert.True(job.TryGetProperty("gpu_usage", out var gpu), "gpu_usage must stay present once reported");
            Assert.Equal(40, gpu.GetDouble());
        }
    }

    [SkippableFact]
    public async Task RecordSample_StoresEverySample_WhenPostedConcurrently()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var first = AnHourAgo();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Client.PostJsonAsync(JobPath(id) + "/metrics", $$"""{"cpu_usage":{{i}},"memory_usage_mb":{{i}},"timestamp":"{{Wire(first.AddSeconds(i))}}"}""")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var history = await HistoryAsync(id);
        Assert.Equal(50, history.GetProperty("total").GetInt32());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => first.AddSeconds(i)), Timestamps(history));
        var job = await GetJobAsync(id);
        Assert.Equal(49, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(49, job.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task RecordSample_AcceptsBoundaryValues_WhenAtTheEdgesOfTheRanges()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var low = await PostSampleAsync(id, """{"cpu_usage":0,"memory_usage_mb":0,"gpu_usage":0}""");
        var high = await PostSampleAsync(id, """{"cpu_usage":100,"memory_usage_mb":1048576,"gpu_usage":100}""");

        Assert.Equal(0, low.GetProperty("gpu_usage").GetDouble());
        Assert.Equal(100, high.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(1048576, high.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task RecordSample_AcceptsSamples_WhenJobIsPending()
    {
        var id = await CreateJobInStateAsync("pending");

        await PostSampleAsync(id, """{"cpu_usage":3,"memory_usage_mb":4}""");

        Assert.Equal(3, (await GetJobAsync(id)).GetProperty("cpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task RecordSample_Returns404NotFound_WhenJobUnknown()
    {
        var response = await Client.PostJsonAsync(JobPath(NewId()) + "/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""");

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [SkippableTheory]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public async Task RecordSample_Returns409ConflictAndStoresNothing_WhenJobIsTerminal(string state)
    {
        var id = await CreateJobInStateAsync(state);

        var response = await Client.PostJsonAsync(JobPath(id) + "/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""");

        await ExpectErrorAsync(response, HttpStatusCode.Conflict, "conflict", state);
        Assert.Equal(0, (await HistoryAsync(id)).GetProperty("total").GetInt32());
        Assert.Equal(0, (await GetJobAsync(id)).GetProperty("cpu_usage").GetDouble());
    }

    [SkippableTheory]
    [InlineData("missing cpu_usage", """{"memory_usage_mb":1}""")]
    [InlineData("missing memory_usage_mb", """{"cpu_usage":1}""")]
    [InlineData("empty object", """{}""")]
    [InlineData("null cpu_usage", """{"cpu_usage":null,"memory_usage_mb":1}""")]
    [InlineData("cpu_usage above 100", """{"cpu_usage":100.5,"memory_usage_mb":1}""")]
    [InlineData("cpu_usage negative", """{"cpu_usage":-0.1,"memory_usage_mb":1}""")]
    [InlineData("cpu_usage a string", """{"cpu_usage":"50","memory_usage_mb":1}""")]
    [InlineData("cpu_usage huge", """{"cpu_usage":1e400,"memory_usage_mb":1}""")]
    [InlineData("gpu_usage negative", """{"cpu_usage":1,"memory_usage_mb":1,"gpu_usage":-1}""")]
    [InlineData("gpu_usage above 100", """{"cpu_usage":1,"memory_usage_mb":1,"gpu_usage":100.01}""")]
    [InlineData("gpu_usage a string", """{"cpu_usage":1,"memory_usage_mb":1,"gpu_usage":"high"}""")]
    [InlineData("memory_usage_mb fractional", """{"cpu_usage":1,"memory_usage_mb":1.5}""")]
    [InlineData("memory_usage_mb negative", """{"cpu_usage":1,"memory_usage_mb":-1}""")]
    [InlineData("memory_usage_mb a string", """{"cpu_usage":1,"memory_usage_mb":"2048"}""")]
    [InlineData("memory_usage_mb huge", """{"cpu_usage":1,"memory_usage_mb":1e400}""")]
    [InlineData("memory_usage_mb beyond int64", """{"cpu_usage":1,"memory_usage_mb":99999999999999999999999}""")]
    [InlineData("timestamp not a time", """{"cpu_usage":1,"memory_usage_mb":1,"timestamp":"now"}""")]
    [InlineData("timestamp without zone", """{"cpu_usage":1,"memory_usage_mb":1,"timestamp":"2026-01-15T10:00:00"}""")]
    [InlineData("timestamp a number", """{"cpu_usage":1,"memory_usage_mb":1,"timestamp":1768471200}""")]
    [InlineData("timestamp day 32", """{"cpu_usage":1,"memory_usage_mb":1,"timestamp":"2026-01-32T10:00:00Z"}""")]
    [InlineData("cpu_usage and cpuUsage", """{"cpu_usage":1,"cpuUsage":1,"memory_usage_mb":1}""")]
    [InlineData("memory_usage_mb and memoryUsageMb", """{"cpu_usage":1,"memory_usage_mb":1,"memoryUsageMb":1}""")]
    public async Task RecordSample_Returns400ValidationErrorAndStoresNothing_WhenBodyBreaksTheContract(string reason, string body)
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var response = await Client.PostJsonAsync(JobPath(id) + "/metrics", body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "validation_error", reason);
        Assert.Equal(0, (await HistoryAsync(id)).GetProperty("total").GetInt32());
        Assert.Equal(0, (await GetJobAsync(id)).GetProperty("cpu_usage").GetDouble());
    }

    [SkippableTheory]
    [InlineData("truncated", """{"cpu_usage":1,""")]
    [InlineData("empty body", "")]
    [InlineData("NaN literal", """{"cpu_usage":NaN,"memory_usage_mb":1}""")]
    public async Task RecordSample_Returns400InvalidRequest_WhenBodyIsNotJson(string reason, string body)
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var response = await Client.PostJsonAsync(JobPath(id) + "/metrics", body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", reason);
    }

    [SkippableFact]
    public async Task RecordSample_Returns400_WhenBodyIsAnArray()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var response = await Client.PostJsonAsync(JobPath(id) + "/metrics", """[{"cpu_usage":1,"memory_usage_mb":1}]""");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, ["validation_error", "invalid_request"]);
    }

    [SkippableFact]
    public async Task RecordSample_Returns415UnsupportedMediaType_WhenContentTypeIsTextPlain()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var response = await Client.PostAsync(
            JobPath(id) + "/metrics", new StringContent("""{"cpu_usage":1,"memory_usage_mb":1}""", Encoding.UTF8, "text/plain"));

        await ExpectErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Equal(0, (await HistoryAsync(id)).GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task RecordSample_Returns413PayloadTooLarge_WhenBodyExceedsOneMebibyte()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var body = """{"cpu_usage":1,"memory_usage_mb":1,"pad":"@"}""".Replace("@", new string('p', (1024 * 1024) + 16), StringComparison.Ordinal);

        var response = await Client.PostJsonAsync(JobPath(id) + "/metrics", body);

        await ExpectErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    // ---- GET /v1/jobs/{id}/metrics ----

    [SkippableFact]
    public async Task GetSamples_ReturnsEverySampleOldestFirst_WhenNoFilterGiven()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        var history = await HistoryAsync(id);

        Assert.Equal(id, history.GetProperty("job_id").GetString());
        Assert.Equal(times, Timestamps(history));
        Assert.Equal(5, history.GetProperty("total").GetInt32());
        Assert.Equal([0.0, 10, 20, 30, 40], Samples(history).Select(s => s.GetProperty("cpu_usage").GetDouble()));
        foreach (var sample in Samples(history))
        {
            Assert.Equal(id, sample.GetProperty("job_id").GetString());
            AssertUtcTime(sample.GetProperty("timestamp").GetString());
        }
    }

    [SkippableFact]
    public async Task GetSamples_ReturnsAnEmptyHistory_WhenJobHasNoSamples()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var history = await HistoryAsync(id);

        Assert.Equal(id, history.GetProperty("job_id").GetString());
        Assert.Empty(Samples(history));
        Assert.Equal(0, history.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task GetSamples_IncludesBothEnds_WhenStartAndEndTimeGiven()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        var history = await HistoryAsync(id, $"start_time={Wire(times[1])}&end_time={Wire(times[3])}");

        Assert.Equal(times[1..4], Timestamps(history));
        Assert.Equal(3, history.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task GetSamples_FiltersOnOneSide_WhenOnlyStartOrEndTimeGiven()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        Assert.Equal(times[3..], Timestamps(await HistoryAsync(id, "start_time=" + Wire(times[3]))));
        Assert.Equal(times[..2], Timestamps(await HistoryAsync(id, "end_time=" + Wire(times[1]))));
    }

    [SkippableFact]
    public async Task GetSamples_ExcludesSamplesOneMicrosecondOutside_WhenRangeGiven()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();
        var justAfter = Wire(times[1].AddTicks(10));
        var justBefore = Wire(times[3].AddTicks(-10));

        var history = await HistoryAsync(id, $"start_time={justAfter}&end_time={justBefore}");

        Assert.Equal([times[2]], Timestamps(history));
    }

    [SkippableFact]
    public async Task GetSamples_ConvertsOffsetTimes_WhenRangeIsGivenWithAnOffset()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();
        static string Plus2(DateTimeOffset t) => Uri.EscapeDataString(
            t.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'+02:00'", System.Globalization.CultureInfo.InvariantCulture));

        var history = await HistoryAsync(id, $"start_time={Plus2(times[1])}&end_time={Plus2(times[2])}");

        Assert.Equal(times[1..3], Timestamps(history));
    }

    [SkippableFact]
    public async Task GetSamples_ReturnsTheNewest1000OldestFirst_WhenNoLimitGiven()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;
        var first = AnHourAgo();
        var times = Enumerable.Range(0, 1001).Select(i => first.AddMilliseconds(i)).ToArray();
        foreach (var chunk in times.Chunk(100))
        {
            var responses = await Task.WhenAll(chunk.Select(t =>
                Client.PostJsonAsync(JobPath(id) + "/metrics", $$"""{"cpu_usage":1,"memory_usage_mb":1,"timestamp":"{{Wire(t)}}"}""")));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        }

        var history = await HistoryAsync(id);

        Assert.Equal(1000, history.GetProperty("total").GetInt32());
        Assert.Equal(times[1..], Timestamps(history));
    }

    [SkippableFact]
    public async Task GetSamples_ReturnsTheNewestLimitSamplesOldestFirst_WhenLimitGiven()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        var history = await HistoryAsync(id, "limit=2");

        Assert.Equal(times[3..], Timestamps(history));
        Assert.Equal(2, history.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task GetSamples_AppliesLimitWithinTheRange_WhenBothGiven()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        var history = await HistoryAsync(id, $"start_time={Wire(times[0])}&end_time={Wire(times[3])}&limit=2");

        Assert.Equal(times[2..4], Timestamps(history));
        Assert.Equal(2, history.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task GetSamples_AcceptsTheLargestLimit_WhenLimitIs10000()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        Assert.Equal(times, Timestamps(await HistoryAsync(id, "limit=10000")));
    }

    [SkippableFact]
    public async Task GetSamples_Returns404NotFound_WhenJobUnknown()
    {
        var response = await Client.GetAsync(JobPath(NewId()) + "/metrics");

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [SkippableTheory]
    [InlineData("limit=0")]
    [InlineData("limit=10001")]
    [InlineData("limit=-1")]
    [InlineData("limit=abc")]
    [InlineData("limit=5&limit=6")]
    [InlineData("start_time=yesterday")]
    [InlineData("start_time=2026-01-15")]
    [InlineData("end_time=2026-01-15T10:00:00")]
    [InlineData("end_time=noon")]
    public async Task GetSamples_Returns400InvalidRequest_WhenQueryParameterIsBad(string query)
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var response = await Client.GetAsync(JobPath(id) + "/metrics?" + query);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", query);
    }

    [SkippableFact]
    public async Task GetSamples_Returns400_WhenStartTimeIsAfterEndTime()
    {
        var id = (await CreateJobAsync(startTime: Wire(StartedTwoHoursAgo()))).GetProperty("id").GetString()!;

        var response = await Client.GetAsync(JobPath(id) + "/metrics?start_time=2026-01-15T11:00:00Z&end_time=2026-01-15T10:00:00Z");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, ["invalid_request", "validation_error"]);
    }

    [SkippableFact]
    public async Task GetSamples_ReturnsTheSingleInstant_WhenStartTimeEqualsEndTime()
    {
        var (id, times) = await CreateJobWithFiveSamplesAsync();

        var history = await HistoryAsync(id, $"start_time={Wire(times[2])}&end_time={Wire(times[2])}");

        Assert.Equal([times[2]], Timestamps(history));
    }

    private static JsonElement[] Samples(JsonElement history) => [.. history.GetProperty("samples").EnumerateArray()];
}
