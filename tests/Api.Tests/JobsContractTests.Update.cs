using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using System.Text;
using System.Text.Json;

namespace HpcJobs.Api.Tests;

/// <summary>PATCH /v1/jobs/{id}: the state machine and usage updates.</summary>
public abstract partial class JobsContractTests<TBackend>
{
    protected async Task<JsonElement> PatchAsync(string id, string json) =>
        await ExpectJsonAsync(await Client.PatchJsonAsync(JobPath(id), json), HttpStatusCode.OK);

    [SkippableTheory]
    [InlineData("pending", "running")]
    [InlineData("pending", "failed")]
    [InlineData("pending", "cancelled")]
    [InlineData("running", "completed")]
    [InlineData("running", "failed")]
    [InlineData("running", "cancelled")]
    public async Task UpdateJob_MovesToTheNewState_WhenTransitionIsLegal(string from, string to)
    {
        var id = await CreateJobInStateAsync(from);

        var patched = await PatchAsync(id, $$"""{"state":"{{to}}"}""");

        Assert.Equal(id, patched.GetProperty("id").GetString());
        Assert.Equal(to, patched.GetProperty("state").GetString());
        Assert.Equal(to, (await GetJobAsync(id)).GetProperty("state").GetString());
    }

    [SkippableFact]
    public async Task UpdateJob_LeavesEndTimeUnsetAndRuntimeRunning_WhenPendingJobStarts()
    {
        var id = await CreateJobInStateAsync("pending");

        var patched = await PatchAsync(id, """{"state":"running"}""");
        await Task.Delay(50);
        var later = await GetJobAsync(id);

        Assert.False(patched.TryGetProperty("end_time", out var end) && end.ValueKind != JsonValueKind.Null);
        Assert.True(later.GetProperty("runtime_seconds").GetDouble() > patched.GetProperty("runtime_seconds").GetDouble());
    }

    [SkippableTheory]
    [InlineData("pending", "failed")]
    [InlineData("pending", "cancelled")]
    [InlineData("running", "completed")]
    [InlineData("running", "failed")]
    [InlineData("running", "cancelled")]
    public async Task UpdateJob_SetsEndTimeAndFreezesRuntime_WhenJobEntersTerminalState(string from, string to)
    {
        var id = await CreateJobInStateAsync(from);
        await Task.Delay(20);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var patched = await PatchAsync(id, $$"""{"state":"{{to}}"}""");
        var first = await GetJobAsync(id);
        await Task.Delay(50);
        var second = await GetJobAsync(id);

        var start = ParseTime(patched.GetProperty("start_time"));
        var end = ParseTime(patched.GetProperty("end_time"));
        Assert.InRange(end, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.True(end >= start);
        var runtime = patched.GetProperty("runtime_seconds").GetDouble();
        Assert.Equal((end - start).TotalSeconds, runtime, 0.000_01);
        Assert.Equal(patched.GetProperty("end_time").GetString(), second.GetProperty("end_time").GetString());
        Assert.Equal(runtime, first.GetProperty("runtime_seconds").GetDouble());
        Assert.Equal(runtime, second.GetProperty("runtime_seconds").GetDouble());
    }

    [SkippableFact]
    public async Task UpdateJob_FreezesRuntimeAtEndMinusStart_WhenStartTimeWasInThePast()
    {
        var start = AnHourAgo();
        var id = (await CreateJobAsync(startTime: Wire(start))).GetProperty("id").GetString()!;

        var patched = await PatchAsync(id, """{"state":"completed"}""");
        await Task.Delay(50);
        var later = await GetJobAsync(id);

        var end = ParseTime(patched.GetProperty("end_time"));
        Assert.Equal((end - start).TotalSeconds, later.GetProperty("runtime_seconds").GetDouble(), 0.000_01);
        Assert.InRange(later.GetProperty("runtime_seconds").GetDouble(), 3590, 3700);
    }

    [SkippableTheory]
    [InlineData("pending")]
    [InlineData("running")]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public async Task UpdateJob_IsANoOp200_WhenStateIsUnchanged(string state)
    {
        var id = await CreateJobInStateAsync(state);
        var before = await GetJobAsync(id);

        var patched = await PatchAsync(id, $$"""{"state":"{{state}}"}""");
        var after = await GetJobAsync(id);

        Assert.Equal(state, patched.GetProperty("state").GetString());
        Assert.Equal(state, after.GetProperty("state").GetString());
        Assert.Equal(before.GetProperty("start_time").GetString(), after.GetProperty("start_time").GetString());
        Assert.Equal(
            before.TryGetProperty("end_time", out var beforeEnd) ? beforeEnd.GetString() : null,
            after.TryGetProperty("end_time", out var afterEnd) ? afterEnd.GetString() : null);
    }

    [SkippableTheory]
    [InlineData("pending", "completed")]
    [InlineData("running", "pending")]
    [InlineData("completed", "pending")]
    [InlineData("completed", "running")]
    [InlineData("completed", "failed")]
    [InlineData("completed", "cancelled")]
    [InlineData("failed", "pending")]
    [InlineData("failed", "running")]
    [InlineData("failed", "completed")]
    [InlineData("failed", "cancelled")]
    [InlineData("cancelled", "pending")]
    [InlineData("cancelled", "running")]
    [InlineData("cancelled", "completed")]
    [InlineData("cancelled", "failed")]
    public async Task UpdateJob_Returns409ConflictAndKeepsTheJob_WhenTransitionIsIllegal(string from, string to)
    {
        var id = await CreateJobInStateAsync(from);
        var before = await GetJobAsync(id);

        var response = await Client.PatchJsonAsync(JobPath(id), $$"""{"state":"{{to}}"}""");

        await ExpectErrorAsync(response, HttpStatusCode.Conflict, "conflict", $"{from} -> {to}");
        var after = await GetJobAsync(id);
        Assert.Equal(from, after.GetProperty("state").GetString());
        Assert.Equal(
            before.TryGetProperty("end_time", out var beforeEnd) ? beforeEnd.GetString() : null,
            after.TryGetProperty("end_time", out var afterEnd) ? afterEnd.GetString() : null);
    }

    [SkippableFact]
    public async Task UpdateJob_RecordsNoUsage_WhenTheTransitionBesideItIsIllegal()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        var response = await Client.PatchJsonAsync(JobPath(id), """{"state":"pending","cpu_usage":50,"memory_usage_mb":10}""");

        await ExpectErrorAsync(response, HttpStatusCode.Conflict, "conflict");
        var job = await GetJobAsync(id);
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal(0, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(0, (await HistoryAsync(id)).GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task UpdateJob_LetsExactlyOneTerminalStateWin_WhenTransitionsRace()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;
        string[] targets = ["completed", "failed", "cancelled", "completed", "failed", "cancelled"];

        var responses = await Task.WhenAll(targets.Select(t => Client.PatchJsonAsync(JobPath(id), $$"""{"state":"{{t}}"}""")));

        var winners = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToArray();
        Assert.NotEmpty(winners);
        var final = (await GetJobAsync(id)).GetProperty("state").GetString();
        foreach (var winner in winners)
        {
            // A repeat of the winning state is a no-op 200; any other state loses with 409.
            Assert.Equal(final, (await ExpectJsonAsync(winner, HttpStatusCode.OK)).GetProperty("state").GetString());
        }

        foreach (var loser in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            await ExpectErrorAsync(loser, HttpStatusCode.Conflict, "conflict");
        }

        Assert.Equal(targets.Count(t => t == final), winners.Length);
    }

    [SkippableTheory]
    [InlineData("snake_case", """{"cpu_usage":55.5,"memory_usage_mb":2048,"gpu_usage":12.25}""")]
    [InlineData("camelCase", """{"cpuUsage":55.5,"memoryUsageMb":2048,"gpuUsage":12.25}""")]
    public async Task UpdateJob_SetsLatestUsage_WhenUsageFieldsGiven(string spelling, string body)
    {
        var user = NewName("user");
        var id = (await CreateJobAsync(user: user)).GetProperty("id").GetString()!;

        var patched = await PatchAsync(id, body);

        foreach (var job in new[] { patched, await GetJobAsync(id), (await ListAsync("user=" + user)).GetProperty("jobs")[0] })
        {
            Assert.True(55.5 == job.GetProperty("cpu_usage").GetDouble(), spelling);
            Assert.Equal(2048, job.GetProperty("memory_usage_mb").GetInt64());
            Assert.Equal(12.25, job.GetProperty("gpu_usage").GetDouble());
            Assert.Equal("running", job.GetProperty("state").GetString());
        }
    }

    [SkippableFact]
    public async Task UpdateJob_KeepsOtherUsageValues_WhenOnlyCpuGiven()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;
        await PatchAsync(id, """{"cpu_usage":10,"memory_usage_mb":512,"gpu_usage":20}""");

        await PatchAsync(id, """{"cpu_usage":90}""");

        var job = await GetJobAsync(id);
        Assert.Equal(90, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(512, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(20, job.GetProperty("gpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task UpdateJob_RecordsUsageAsASample_WhenUsageFieldsGiven()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        await PatchAsync(id, """{"cpu_usage":33,"memory_usage_mb":64}""");

        var history = await ExpectJsonAsync(await Client.GetAsync(JobPath(id) + "/metrics"), HttpStatusCode.OK);
        var sample = Assert.Single(history.GetProperty("samples").EnumerateArray());
        Assert.Equal(33, sample.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(64, sample.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task UpdateJob_AppliesUsageAndState_WhenBothGiven()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        var patched = await PatchAsync(id, """{"state":"completed","cpu_usage":70,"memory_usage_mb":128}""");

        Assert.Equal("completed", patched.GetProperty("state").GetString());
        Assert.Equal(70, patched.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(128, (await GetJobAsync(id)).GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableTheory]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public async Task UpdateJob_Returns409Conflict_WhenUsageSentToTerminalJob(string state)
    {
        var id = await CreateJobInStateAsync(state);

        var response = await Client.PatchJsonAsync(JobPath(id), """{"cpu_usage":50}""");

        await ExpectErrorAsync(response, HttpStatusCode.Conflict, "conflict", state);
        Assert.Equal(0, (await GetJobAsync(id)).GetProperty("cpu_usage").GetDouble());
    }

    [SkippableTheory]
    [InlineData("""{"state":"running"}""")]
    [InlineData("""{"cpu_usage":5}""")]
    public async Task UpdateJob_Returns404NotFound_WhenJobUnknown(string body)
    {
        var response = await Client.PatchJsonAsync(JobPath(NewId()), body);

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found", body);
    }

    [SkippableTheory]
    [InlineData("cpu_usage above 100", """{"cpu_usage":101}""")]
    [InlineData("cpu_usage negative", """{"cpu_usage":-1}""")]
    [InlineData("cpu_usage a string", """{"cpu_usage":"x"}""")]
    [InlineData("cpu_usage a numeric string", """{"cpu_usage":"50"}""")]
    [InlineData("cpu_usage huge", """{"cpu_usage":1e400}""")]
    [InlineData("memory_usage_mb fractional", """{"memory_usage_mb":1.5}""")]
    [InlineData("memory_usage_mb negative", """{"memory_usage_mb":-1}""")]
    [InlineData("memoryUsageMb a string", """{"memoryUsageMb":"2048"}""")]
    [InlineData("gpu_usage above 100", """{"gpu_usage":100.5}""")]
    [InlineData("gpuUsage negative", """{"gpuUsage":-0.5}""")]
    [InlineData("empty object", """{}""")]
    [InlineData("only unknown fields", """{"colour":"blue"}""")]
    [InlineData("cpu_usage and cpuUsage", """{"cpu_usage":10,"cpuUsage":10}""")]
    [InlineData("memory_usage_mb and memoryUsageMb", """{"memory_usage_mb":10,"memoryUsageMb":10}""")]
    [InlineData("state unknown", """{"state":"done"}""")]
    [InlineData("state a number", """{"state":2}""")]
    [InlineData("state empty", """{"state":""}""")]
    [InlineData("valid cpu beside bad memory", """{"cpu_usage":50,"memory_usage_mb":1.5}""")]
    [InlineData("valid state beside bad cpu", """{"state":"completed","cpu_usage":150}""")]
    public async Task UpdateJob_Returns400ValidationErrorAndChangesNothing_WhenBodyBreaksTheContract(string reason, string body)
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        var response = await Client.PatchJsonAsync(JobPath(id), body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "validation_error", reason);
        var job = await GetJobAsync(id);
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal(0, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(0, job.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableTheory]
    [InlineData("array", """[{"state":"completed"}]""")]
    [InlineData("null", "null")]
    public async Task UpdateJob_Returns400_WhenBodyIsNotAnObject(string reason, string body)
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        var response = await Client.PatchJsonAsync(JobPath(id), body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, ["validation_error", "invalid_request"], reason);
        Assert.Equal("running", (await GetJobAsync(id)).GetProperty("state").GetString());
    }

    [SkippableTheory]
    [InlineData("truncated", """{"state":"completed" """)]
    [InlineData("empty body", "")]
    public async Task UpdateJob_Returns400InvalidRequest_WhenBodyIsNotJson(string reason, string body)
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        var response = await Client.PatchJsonAsync(JobPath(id), body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", reason);
    }

    [SkippableFact]
    public async Task UpdateJob_Returns415UnsupportedMediaType_WhenContentTypeIsTextPlain()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;

        var response = await Client.PatchAsync(JobPath(id), new StringContent("""{"state":"completed"}""", Encoding.UTF8, "text/plain"));

        await ExpectErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Equal("running", (await GetJobAsync(id)).GetProperty("state").GetString());
    }
}
