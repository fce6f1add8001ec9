using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The HTTP contract of the /v1 routes (shared/CONTRACT.md). One suite, split by route over the
/// partial files <c>JobsContractTests.*.cs</c>; each backend runs it through a derived class.
/// The service is shared by the class, so every test works on fresh job ids, users and nodes.
/// </summary>
public abstract partial class JobsContractTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    /// <summary>RFC 3339, UTC, a Z suffix, at most microseconds.</summary>
    private static readonly Regex _utcTime = new(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$", RegexOptions.CultureInvariant);

    protected HttpClient Client => service.Client;

    protected static string NewId() => "job-" + Guid.NewGuid().ToString("N");

    /// <summary>A user or node name no other test uses, so list totals only count this test's jobs.</summary>
    protected static string NewName(string kind) => kind + "-" + Guid.NewGuid().ToString("N");

    protected static string JobPath(string id) => "/v1/jobs/" + Uri.EscapeDataString(id);

    /// <summary>A JSON string literal.</summary>
    protected static string Q(string value) => JsonSerializer.Serialize(value);

    protected static string Wire(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A whole second an hour ago: recent enough that retention keeps samples stamped near it.</summary>
    protected static DateTimeOffset AnHourAgo()
    {
        var now = DateTimeOffset.UtcNow.AddHours(-1);
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    protected static DateTimeOffset ParseTime(JsonElement value)
    {
        var text = value.GetString();
        Assert.NotNull(text);
        AssertUtcTime(text);
        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
    }

    /// <summary>The same instant, written as the contract wants; the number of fraction digits is the server's choice.</summary>
    protected static void AssertTime(string expected, JsonElement actual) =>
        Assert.Equal(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), ParseTime(actual));

    protected static void AssertUtcTime(string? text) =>
        Assert.True(text is not null && _utcTime.IsMatch(text), $"'{text}' is not an RFC 3339 UTC time with a Z suffix and at most microseconds");

    protected async Task<JsonElement> CreateJobAsync(
        string? id = null, string state = "running", string? user = null, string[]? nodes = null, string? startTime = null)
    {
        id ??= NewId();
        var body = new StringBuilder();
        body.Append($$"""{"id":{{Q(id)}},"user":{{Q(user ?? "alice")}},"nodes":{{JsonSerializer.Serialize(nodes ?? ["n1"])}},"state":{{Q(state)}}""");
        if (startTime is not null)
        {
            body.Append($$""","start_time":{{Q(startTime)}}""");
        }

        body.Append('}');
        return await ExpectJsonAsync(await Client.PostJsonAsync("/v1/jobs", body.ToString()), HttpStatusCode.Created);
    }

    /// <summary>Creates a job (pending or running) and, for a terminal state, moves it there.</summary>
    protected async Task<string> CreateJobInStateAsync(string state, string? user = null)
    {
        var id = NewId();
        var initial = state == "pending" ? "pending" : "running";
        await CreateJobAsync(id, initial, user);
        if (state != initial)
        {
            await ExpectJsonAsync(await Client.PatchJsonAsync(JobPath(id), $$"""{"state":{{Q(state)}}}"""), HttpStatusCode.OK);
        }

        return id;
    }

    protected async Task<JsonElement> GetJobAsync(string id) =>
        await ExpectJsonAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.OK);

    protected async Task<JsonElement> PostSampleAsync(string id, string json) =>
        await ExpectJsonAsync(await Client.PostJsonAsync(JobPath(id) + "/metrics", json), HttpStatusCode.Created);

    /// <summary>Asserts a successful JSON answer and returns its body.</summary>
    protected static async Task<JsonElement> ExpectJsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(
            response.StatusCode == status,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts the contract's error answer: the status, application/json, and {"error", "message", "details"?}.</summary>
    protected static async Task<JsonElement> ExpectErrorAsync(
        HttpResponseMessage response, HttpStatusCode status, string code, string? because = null) =>
        await ExpectErrorAsync(response, status, [code], because);

    protected static async Task<JsonElement> ExpectErrorAsync(
        HttpResponseMessage response, HttpStatusCode status, string[] codes, string? because = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        var context = $"{because} ({response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} answered {(int)response.StatusCode}: {text})";
        Assert.True(response.StatusCode == status, $"expected {(int)status}: {context}");
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"expected application/json: {context}");
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            Assert.Fail($"the error body is not JSON: {context}");
            throw;
        }

        Assert.True(body.ValueKind == JsonValueKind.Object, $"the error body is not an object: {context}");
        Assert.True(
            body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String && codes.Contains(error.GetString()),
            $"expected error {string.Join(" or ", codes)}: {context}");
        Assert.True(
            body.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String && message.GetString()!.Length > 0,
            $"expected a message: {context}");
        foreach (var property in body.EnumerateObject())
        {
            Assert.True(property.Name is "error" or "message" or "details", $"unexpected field '{property.Name}': {context}");
        }

        if (body.TryGetProperty("details", out var details))
        {
            Assert.True(details.ValueKind == JsonValueKind.Object, $"details must be an object: {context}");
        }

        return body;
    }

    protected static string[] Ids(JsonElement list) =>
        [.. list.GetProperty("jobs").EnumerateArray().Select(job => job.GetProperty("id").GetString()!)];

    // ---- POST /v1/jobs ----

    [SkippableFact]
    public async Task CreateJob_ReturnsRunningJobWithDefaults_WhenOnlyRequiredFieldsGiven()
    {
        var id = NewId();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","nodes":["n1","n2"]}""");

        var job = await ExpectJsonAsync(response, HttpStatusCode.Created);
        Assert.Equal(id, job.GetProperty("id").GetString());
        Assert.Equal("alice", job.GetProperty("user").GetString());
        Assert.Equal(["n1", "n2"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("running", job.GetProperty("state").GetString());
        var start = ParseTime(job.GetProperty("start_time"));
        Assert.InRange(start, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.False(job.TryGetProperty("end_time", out var end) && end.ValueKind != JsonValueKind.Null);
        Assert.True(job.GetProperty("runtime_seconds").GetDouble() >= 0);
        Assert.Equal(0, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(0, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.False(job.TryGetProperty("gpu_usage", out _));
    }

    [SkippableFact]
    public async Task CreateJob_SetsLocationHeader_ToTheJobsUrl()
    {
        var id = NewId();

        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","nodes":["n1"]}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var location = response.Headers.Location;
        Assert.NotNull(location);
        var absolute = location.IsAbsoluteUri ? location : new Uri(Client.BaseAddress!, location);
        Assert.Equal("/v1/jobs/" + id, absolute.AbsolutePath);
        await ExpectJsonAsync(await Client.GetAsync(absolute), HttpStatusCode.OK);
    }

    [SkippableFact]
    public async Task CreateJob_ReturnsPendingJobWithZeroRuntime_WhenStatePending()
    {
        var job = await CreateJobAsync(state: "pending", startTime: Wire(AnHourAgo()));

        Assert.Equal("pending", job.GetProperty("state").GetString());
        Assert.Equal(0, job.GetProperty("runtime_seconds").GetDouble());
        Assert.Equal(0, (await GetJobAsync(job.GetProperty("id").GetString()!)).GetProperty("runtime_seconds").GetDouble());
    }

    [SkippableTheory]
    [InlineData("start_time")]
    [InlineData("startTime")]
    public async Task CreateJob_KeepsStartTime_WhenGivenInEitherSpelling(string field)
    {
        var id = NewId();

        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","nodes":["n1"],"{{field}}":"2026-01-15T10:00:00Z"}""");

        var created = await ExpectJsonAsync(response, HttpStatusCode.Created);
        AssertTime("2026-01-15T10:00:00Z", created.GetProperty("start_time"));
        AssertTime("2026-01-15T10:00:00Z", (await GetJobAsync(id)).GetProperty("start_time"));
    }

    [SkippableFact]
    public async Task CreateJob_ReturnsStartTimeInUtcWithZ_WhenGivenWithOffset()
    {
        var job = await CreateJobAsync(startTime: "2026-01-15T11:30:00+01:00");

        AssertTime("2026-01-15T10:30:00Z", job.GetProperty("start_time"));
    }

    [SkippableFact]
    public async Task CreateJob_KeepsMicroseconds_WhenStartTimeHasThem()
    {
        var job = await CreateJobAsync(startTime: "2026-01-15T10:00:00.123456Z");

        AssertTime("2026-01-15T10:00:00.123456Z", job.GetProperty("start_time"));
        AssertTime("2026-01-15T10:00:00.123456Z", (await GetJobAsync(job.GetProperty("id").GetString()!)).GetProperty("start_time"));
    }

    [SkippableFact]
    public async Task CreateJob_ReturnsAtMostMicroseconds_WhenStartTimeHasNanoseconds()
    {
        var job = await CreateJobAsync(startTime: "2026-01-15T10:00:00.123456789Z");

        var text = job.GetProperty("start_time").GetString();
        AssertUtcTime(text);
        Assert.StartsWith("2026-01-15T10:00:00.12345", text);
    }

    [SkippableFact]
    public async Task CreateJob_ReportsRuntimeSinceStart_WhenRunningWithPastStartTime()
    {
        var start = AnHourAgo();

        var job = await CreateJobAsync(startTime: Wire(start));

        var expected = (DateTimeOffset.UtcNow - start).TotalSeconds;
        Assert.InRange(job.GetProperty("runtime_seconds").GetDouble(), expected - 5, expected + 5);
    }

    [SkippableFact]
    public async Task CreateJob_StoresSchedulerInSnakeCase_WhenGivenInSnakeCase()
    {
        const string Scheduler =
            """{"type":"slurm","external_job_id":"4242","raw_state":"RUNNING","submit_time":"2026-01-15T09:59:00Z","partition":"gpu","account":"proj1","qos":"normal","priority":4294967296,"exit_code":0,"extra":{"array_task_id":7,"nested":{"k":["v"]}}}""";
        var id = NewId();

        var created = await ExpectJsonAsync(
            await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","nodes":["n1"],"scheduler":{{Scheduler}}}"""),
            HttpStatusCode.Created);

        var expected = JsonDocument.Parse(Scheduler).RootElement;
        AssertSameJson(expected, created.GetProperty("scheduler"));
        AssertSameJson(expected, (await GetJobAsync(id)).GetProperty("scheduler"));
    }

    [SkippableFact]
    public async Task CreateJob_StoresSchedulerInSnakeCase_WhenGivenInCamelCase()
    {
        var id = NewId();
        var body = """
            {"id":"@id","user":"alice","nodes":["n1"],"scheduler":{"type":"slurm","externalJobId":"4242_3","rawState":"PENDING",
             "submitTime":"2026-01-15T09:59:00Z","partition":"gpu","account":"proj1","qos":"high","priority":10,"exitCode":137,"extra":{"keepMe":1}}}
            """.Replace("@id", id, StringComparison.Ordinal);

        var created = await ExpectJsonAsync(await Client.PostJsonAsync("/v1/jobs", body), HttpStatusCode.Created);

        var expected = JsonDocument.Parse(
            """{"type":"slurm","external_job_id":"4242_3","raw_state":"PENDING","submit_time":"2026-01-15T09:59:00Z","partition":"gpu","account":"proj1","qos":"high","priority":10,"exit_code":137,"extra":{"keepMe":1}}""").RootElement;
        AssertSameJson(expected, created.GetProperty("scheduler"));
        AssertSameJson(expected, (await GetJobAsync(id)).GetProperty("scheduler"));
    }

    [SkippableFact]
    public async Task CreateJob_OmitsScheduler_WhenNotGiven()
    {
        var job = await CreateJobAsync();

        Assert.False(job.TryGetProperty("scheduler", out var scheduler) && scheduler.ValueKind != JsonValueKind.Null);
    }

    [SkippableFact]
    public async Task CreateJob_Returns409Conflict_WhenIdAlreadyExists()
    {
        var id = NewId();
        await CreateJobAsync(id, user: "first");

        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"second","nodes":["n9"],"state":"pending"}""");

        await ExpectErrorAsync(response, HttpStatusCode.Conflict, "conflict");
        var job = await GetJobAsync(id);
        Assert.Equal("first", job.GetProperty("user").GetString());
        Assert.Equal("running", job.GetProperty("state").GetString());
    }

    [SkippableFact]
    public async Task CreateJob_CreatesExactlyOnce_WhenTheSameIdIsPostedConcurrently()
    {
        var id = NewId();
        var body = $$"""{"id":"{{id}}","user":"alice","nodes":["n1"]}""";

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Client.PostJsonAsync("/v1/jobs", body)));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        foreach (var response in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await ExpectErrorAsync(response, HttpStatusCode.Conflict, "conflict");
        }
    }

    [SkippableFact]
    public async Task CreateJob_Returns400_WhenAFieldIsGivenTwiceInTheSameSpelling()
    {
        var id = NewId();

        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","user":"bob","nodes":["n1"]}""");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, ["validation_error", "invalid_request"]);
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.NotFound, "not_found");
    }

    [SkippableTheory]
    [InlineData("12345")]
    [InlineData("12345_7")]
    [InlineData("12345.0")]
    public async Task CreateJob_AcceptsSlurmStyleId_WhenNumericWithArrayOrStepSuffix(string form)
    {
        // A fresh job number per run keeps the ids unique in the shared service.
        var number = Random.Shared.NextInt64(100_000_000, 999_999_999).ToString(CultureInfo.InvariantCulture);
        var id = form.Replace("12345", number, StringComparison.Ordinal);

        var created = await CreateJobAsync(id);

        Assert.Equal(id, created.GetProperty("id").GetString());
        Assert.Equal(id, (await GetJobAsync(id)).GetProperty("id").GetString());
    }

    [SkippableFact]
    public async Task CreateJob_AcceptsId_WhenExactly255Characters()
    {
        var id = NewId().PadRight(255, 'x');

        await CreateJobAsync(id);

        Assert.Equal(id, (await GetJobAsync(id)).GetProperty("id").GetString());
    }

    [SkippableFact]
    public async Task CreateJob_AcceptsIdWithPrintablePunctuation_AndServesItAtItsEscapedUrl()
    {
        var id = NewId() + " a:b+c@d%e?f#g";

        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":{{Q(id)}},"user":"alice","nodes":["n1"]}""");

        Assert.Equal(id, (await ExpectJsonAsync(response, HttpStatusCode.Created)).GetProperty("id").GetString());
        Assert.Equal(id, (await GetJobAsync(id)).GetProperty("id").GetString());
    }

    [SkippableFact]
    public async Task CreateJob_Returns400ValidationError_WhenIdHas256Characters()
    {
        var id = NewId().PadRight(256, 'x');

        var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","nodes":["n1"]}""");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "validation_error");
    }

    [SkippableFact]
    public async Task CreateJob_Returns400ValidationError_WhenUserHas256Characters()
    {
        var response = await Client.PostJsonAsync(
            "/v1/jobs", $$"""{"id":"{{NewId()}}","user":"{{new string('u', 256)}}","nodes":["n1"]}""");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "validation_error");
    }

    [SkippableFact]
    public async Task CreateJob_Returns400ValidationError_WhenANodeHas256Characters()
    {
        var response = await Client.PostJsonAsync(
            "/v1/jobs", $$"""{"id":"{{NewId()}}","user":"alice","nodes":["n1","{{new string('n', 256)}}"]}""");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "validation_error");
    }

    /// <summary>Each body is well-formed JSON the contract rejects; <c>@id</c> stands for a fresh id.</summary>
    [SkippableTheory]
    [InlineData("missing id", """{"user":"alice","nodes":["n1"]}""")]
    [InlineData("missing user", """{"id":@id,"nodes":["n1"]}""")]
    [InlineData("missing nodes", """{"id":@id,"user":"alice"}""")]
    [InlineData("null user", """{"id":@id,"user":null,"nodes":["n1"]}""")]
    [InlineData("empty nodes", """{"id":@id,"user":"alice","nodes":[]}""")]
    [InlineData("nodes not an array", """{"id":@id,"user":"alice","nodes":"n1"}""")]
    [InlineData("non-string node", """{"id":@id,"user":"alice","nodes":["n1",7]}""")]
    [InlineData("empty node name", """{"id":@id,"user":"alice","nodes":[""]}""")]
    [InlineData("empty id", """{"id":"","user":"alice","nodes":["n1"]}""")]
    [InlineData("empty user", """{"id":@id,"user":"","nodes":["n1"]}""")]
    [InlineData("id with slash", """{"id":"job/1","user":"alice","nodes":["n1"]}""")]
    [InlineData("id with control character", """{"id":"job\u0001x","user":"alice","nodes":["n1"]}""")]
    [InlineData("id with newline", """{"id":"job\nx","user":"alice","nodes":["n1"]}""")]
    [InlineData("id with DEL", """{"id":"job\u007fx","user":"alice","nodes":["n1"]}""")]
    [InlineData("id a number", """{"id":12345,"user":"alice","nodes":["n1"]}""")]
    [InlineData("user a number", """{"id":@id,"user":5,"nodes":["n1"]}""")]
    [InlineData("state completed", """{"id":@id,"user":"alice","nodes":["n1"],"state":"completed"}""")]
    [InlineData("state failed", """{"id":@id,"user":"alice","nodes":["n1"],"state":"failed"}""")]
    [InlineData("state cancelled", """{"id":@id,"user":"alice","nodes":["n1"],"state":"cancelled"}""")]
    [InlineData("state unknown", """{"id":@id,"user":"alice","nodes":["n1"],"state":"bogus"}""")]
    [InlineData("state a number", """{"id":@id,"user":"alice","nodes":["n1"],"state":1}""")]
    [InlineData("start_time not a time", """{"id":@id,"user":"alice","nodes":["n1"],"start_time":"yesterday"}""")]
    [InlineData("start_time month 13", """{"id":@id,"user":"alice","nodes":["n1"],"start_time":"2026-13-01T00:00:00Z"}""")]
    [InlineData("start_time date only", """{"id":@id,"user":"alice","nodes":["n1"],"start_time":"2026-01-15"}""")]
    [InlineData("start_time a number", """{"id":@id,"user":"alice","nodes":["n1"],"start_time":1768471200}""")]
    [InlineData("startTime not a time", """{"id":@id,"user":"alice","nodes":["n1"],"startTime":"soon"}""")]
    [InlineData("start_time and startTime", """{"id":@id,"user":"alice","nodes":["n1"],"start_time":"2026-01-15T10:00:00Z","startTime":"2026-01-15T10:00:00Z"}""")]
    [InlineData("scheduler a string", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":"slurm"}""")]
    [InlineData("scheduler an array", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":[]}""")]
    [InlineData("scheduler priority a string", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":{"priority":"high"}}""")]
    [InlineData("scheduler exit_code fractional", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":{"exit_code":1.5}}""")]
    [InlineData("scheduler submit_time bad", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":{"submit_time":"noon"}}""")]
    [InlineData("scheduler extra not an object", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":{"extra":"x"}}""")]
    [InlineData("scheduler both spellings", """{"id":@id,"user":"alice","nodes":["n1"],"scheduler":{"external_job_id":"1","externalJobId":"1"}}""")]
    public async Task CreateJob_Returns400ValidationError_WhenBodyBreaksTheContract(string reason, string template)
    {
        var id = NewId();

        var response = await Client.PostJsonAsync("/v1/jobs", template.Replace("@id", Q(id), StringComparison.Ordinal));

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "validation_error", reason);
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.NotFound, "not_found", reason);
    }

    [SkippableTheory]
    [InlineData("array", """[{"id":"a","user":"alice","nodes":["n1"]}]""")]
    [InlineData("string", "\"job\"")]
    [InlineData("number", "42")]
    [InlineData("null", "null")]
    public async Task CreateJob_Returns400_WhenBodyIsNotAnObject(string reason, string body)
    {
        var response = await Client.PostJsonAsync("/v1/jobs", body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, ["validation_error", "invalid_request"], reason);
    }

    [SkippableTheory]
    [InlineData("truncated", """{"id":"job-x","user":"alice","nodes":["n1"]""")]
    [InlineData("trailing garbage", """{"id":"job-x","user":"alice","nodes":["n1"]} x""")]
    [InlineData("single quotes", """{'id':'job-x','user':'alice','nodes':['n1']}""")]
    [InlineData("trailing comma", """{"id":"job-x","user":"alice","nodes":["n1"],}""")]
    [InlineData("not JSON", "id=job-x&user=alice")]
    [InlineData("empty body", "")]
    public async Task CreateJob_Returns400InvalidRequest_WhenBodyIsNotJson(string reason, string body)
    {
        var response = await Client.PostJsonAsync("/v1/jobs", body);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", reason);
    }

    [SkippableFact]
    public async Task CreateJob_Returns400_WhenJsonIsNestedTooDeeply()
    {
        var depth = 200;
        var extra = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

        var response = await Client.PostJsonAsync(
            "/v1/jobs", $$$"""{"id":"{{{NewId()}}}","user":"alice","nodes":["n1"],"scheduler":{"extra":{{{extra}}}}}""");

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, ["invalid_request", "validation_error"]);
    }

    [SkippableTheory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task CreateJob_Returns415UnsupportedMediaType_WhenContentTypeIsNotJson(string mediaType)
    {
        var id = NewId();
        var content = new StringContent($$"""{"id":"{{id}}","user":"alice","nodes":["n1"]}""", Encoding.UTF8, mediaType);

        var response = await Client.PostAsync("/v1/jobs", content);

        await ExpectErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", mediaType);
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.NotFound, "not_found");
    }

    [SkippableFact]
    public async Task CreateJob_Returns413PayloadTooLarge_WhenBodyExceedsOneMebibyte()
    {
        var id = NewId();

        var response = await Client.PostJsonAsync("/v1/jobs", OversizedJobBody(id));

        await ExpectErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.NotFound, "not_found");
    }

    [SkippableFact]
    public async Task CreateJob_Returns413PayloadTooLarge_WhenChunkedBodyExceedsOneMebibyte()
    {
        var id = NewId();
        var content = new UnsizedContent(Encoding.UTF8.GetBytes(OversizedJobBody(id)), "application/json");

        var response = await Client.PostAsync("/v1/jobs", content);

        await ExpectErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.NotFound, "not_found");
    }

    [SkippableFact]
    public async Task CreateJob_Accepts_WhenBodyIsJustUnderOneMebibyte()
    {
        var id = NewId();
        var body = """{"id":"@id","user":"alice","nodes":["n1"],"scheduler":{"extra":{"pad":"@pad"}}}""".Replace("@id", id, StringComparison.Ordinal);
        body = body.Replace("@pad", new string('p', (1024 * 1024) - body.Length + 4), StringComparison.Ordinal);
        Assert.Equal(1024 * 1024, Encoding.UTF8.GetByteCount(body));

        await ExpectJsonAsync(await Client.PostJsonAsync("/v1/jobs", body), HttpStatusCode.Created);
    }

    // ---- GET /v1/jobs/{id} ----

    [SkippableFact]
    public async Task GetJob_ReturnsTheStoredJob_WhenItExists()
    {
        var id = NewId();
        var user = NewName("user");
        await CreateJobAsync(id, "pending", user, ["a1", "b2"], "2026-01-15T10:00:00Z");

        var job = await GetJobAsync(id);

        Assert.Equal(id, job.GetProperty("id").GetString());
        Assert.Equal(user, job.GetProperty("user").GetString());
        Assert.Equal(["a1", "b2"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("pending", job.GetProperty("state").GetString());
        AssertTime("2026-01-15T10:00:00Z", job.GetProperty("start_time"));
        Assert.Equal(0, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(0, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.False(job.TryGetProperty("gpu_usage", out _));
    }

    [SkippableFact]
    public async Task GetJob_Returns404NotFound_WhenJobUnknown()
    {
        var response = await Client.GetAsync(JobPath(NewId()));

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [SkippableFact]
    public async Task GetJob_UsesSnakeCaseFieldsOnly_InResponses()
    {
        var id = NewId();
        await CreateJobAsync(id);
        await PostSampleAsync(id, """{"cpuUsage":10,"memoryUsageMb":20,"gpuUsage":30}""");

        var job = await GetJobAsync(id);

        foreach (var property in job.EnumerateObject())
        {
            Assert.Matches("^[a-z0-9_]+$", property.Name);
        }

        Assert.Equal(
            ["attempt", "attempts", "cpu_usage", "flags", "gpu_usage", "id", "memory_usage_mb", "nodes", "runtime_seconds", "sample_count",
             "start_time", "state", "summary", "user"],
            job.EnumerateObject().Select(p => p.Name)
                .Where(n => n is not ("end_time" or "scheduler" or "first_sample_at" or "last_sample_at") && !n.StartsWith("avg_", StringComparison.Ordinal) && !n.StartsWith("max_", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public async Task ReadmeExample_WorksVerbatim_WithCamelCaseFields()
    {
        var id = NewId();
        var start = Wire(AnHourAgo());

        var created = await ExpectJsonAsync(await Client.PostJsonAsync("/v1/jobs", $$"""
            {
              "id": "{{id}}",
              "user": "alice",
              "nodes": ["node-01", "node-02"],
              "startTime": "{{start}}"
            }
            """), HttpStatusCode.Created);
        var sample = await PostSampleAsync(id, """
            {
              "cpuUsage": 75.5,
              "memoryUsageMb": 2048,
              "gpuUsage": 45.0
            }
            """);
        var patched = await ExpectJsonAsync(await Client.PatchJsonAsync(JobPath(id), """{"cpuUsage": 80.0, "memoryUsageMb": 4096}"""), HttpStatusCode.OK);
        var completed = await ExpectJsonAsync(await Client.PatchJsonAsync(JobPath(id), """{"state": "completed"}"""), HttpStatusCode.OK);
        var job = await GetJobAsync(id);

        AssertTime(start, created.GetProperty("start_time"));
        Assert.Equal(75.5, sample.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(80.0, patched.GetProperty("cpu_usage").GetDouble());
        Assert.Equal("completed", completed.GetProperty("state").GetString());
        Assert.Equal("completed", job.GetProperty("state").GetString());
        Assert.Equal(80.0, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(4096, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(45.0, job.GetProperty("gpu_usage").GetDouble());
    }

    private static string OversizedJobBody(string id)
    {
        var body = """{"id":"@id","user":"alice","nodes":["n1"],"scheduler":{"extra":{"pad":"@pad"}}}""".Replace("@id", id, StringComparison.Ordinal);
        return body.Replace("@pad", new string('p', (1024 * 1024) + 16), StringComparison.Ordinal);
    }

    private static void AssertSameJson(JsonElement expected, JsonElement actual) =>
        Assert.True(JsonElement.DeepEquals(expected, actual), $"expected {expected.GetRawText()}, got {actual.GetRawText()}");

    /// <summary>A body sent without a Content-Length, so the server only learns its size by reading it.</summary>
    private sealed class UnsizedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public UnsizedContent(byte[] bytes, string mediaType)
        {
            _bytes = bytes;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

public sealed class SqliteJobsContractTests(ServiceFixture<SqliteBackend> service) : JobsContractTests<SqliteBackend>(service);

public sealed class PostgresJobsContractTests(ServiceFixture<PostgresBackend> service) : JobsContractTests<PostgresBackend>(service);
