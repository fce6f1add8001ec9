using System.Globalization;
using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>A service with a 60 s clock skew and a 1-day retention, so each bound of the window is testable with margins.</summary>
public sealed class SampleWindowFixture<TBackend> : ServiceFixture<TBackend>
    where TBackend : IBackend, new()
{
    public const int SkewSeconds = 60;

    protected override IReadOnlyDictionary<string, string> ExtraSettings { get; } = new Dictionary<string, string>
    {
        ["MAX_CLOCK_SKEW_SECONDS"] = SkewSeconds.ToString(CultureInfo.InvariantCulture),
        ["METRICS_RETENTION_DAYS"] = "1",
    };
}

/// <summary>
/// The time window of sample timestamps, on both ingest routes and each backend: at most
/// MAX_CLOCK_SKEW_SECONDS ahead of now, not before the job's start − the skew, not older than
/// METRICS_RETENTION_DAYS; refusals are 400 validation_error with details.timestamp and
/// details.server_time (by index in a batch). Bounds are tested 10 s inside and outside the skew.
/// </summary>
public abstract class SampleWindowTests<TBackend>(SampleWindowFixture<TBackend> service) : IClassFixture<SampleWindowFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private const int Skew = SampleWindowFixture<TBackend>.SkewSeconds;

    private HttpClient Client => service.Client;

    public static TheoryData<string> Routes => new() { "single", "batch" };

    /// <summary>Posts one sample on <paramref name="route"/>; null when accepted, else the error (body or batch rejection).</summary>
    private async Task<JsonElement?> PostAsync(string route, string jobId, DateTimeOffset at, double cpu = 10)
    {
        if (route == "single")
        {
            using var response = await Client.PostJsonAsync($"/v1/jobs/{jobId}/metrics", Sample(at, cpu, 100));
            if (response.StatusCode == HttpStatusCode.Created)
            {
                return null;
            }

            return await ExpectValidationErrorAsync(response);
        }

        var (accepted, _, rejected) = await PostBatchAsync(Client, Batch(Sample(at, cpu, 100, jobId: jobId)));
        if (accepted == 1)
        {
            Assert.Empty(rejected);
            return null;
        }

        var refused = Assert.Single(rejected);
        Assert.Equal(0, refused.GetProperty("index").GetInt32());
        Assert.Equal("validation_error", refused.GetProperty("error").GetString());
        return refused;
    }

    private static void AssertTimestampRefusal(JsonElement? error)
    {
        Assert.True(error is not null, "the sample was accepted");
        var details = error.Value.GetProperty("details");
        Assert.True(details.TryGetProperty("timestamp", out _), details.ToString());
        var serverTime = DateTimeOffset.Parse(details.GetProperty("server_time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.InRange(serverTime, DateTimeOffset.UtcNow.AddSeconds(-30), DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task SampleTimestamp_IsAccepted_WhenAheadOfNowByLessThanTheSkew(string route)
    {
        var id = await CreateJobAsync(Client);
        var at = Now().AddSeconds(Skew - 10);

        Assert.Null(await PostAsync(route, id, at));

        Assert.Equal(at, ParseTime(Assert.Single(await HistoryAsync(Client, id)).GetProperty("timestamp")));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task SampleTimestamp_Answers400WithServerTime_WhenAheadOfNowByMoreThanTheSkew(string route)
    {
        var id = await CreateJobAsync(Client);

        AssertTimestampRefusal(await PostAsync(route, id, Now().AddSeconds(Skew + 10)));

        Assert.Empty(await HistoryAsync(Client, id));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task SampleTimestamp_Answers400_WhenBeforeTheJobsStartMinusTheSkew(string route)
    {
        var start = Now().AddHours(-1);
        var id = await CreateJobAsync(Client, start: start);

        AssertTimestampRefusal(await PostAsync(route, id, start.AddSeconds(-Skew - 10)));

        Assert.Empty(await HistoryAsync(Client, id));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task SampleTimestamp_IsAccepted_WhenBeforeTheJobsStartByLessThanTheSkew(string route)
    {
        var start = Now().AddHours(-1);
        var id = await CreateJobAsync(Client, start: start);

        Assert.Null(await PostAsync(route, id, start.AddSeconds(-Skew + 10)));

        Assert.Single(await HistoryAsync(Client, id));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task SampleTimestamp_Answers400_WhenOlderThanTheRetentionWindow(string route)
    {
        var id = await CreateJobAsync(Client, start: Now().AddDays(-3));

        AssertTimestampRefusal(await PostAsync(route, id, Now().AddDays(-2)));
        Assert.Null(await PostAsync(route, id, Now().AddHours(-12)));

        var stored = Assert.Single(await HistoryAsync(Client, id));
        Assert.InRange(ParseTime(stored.GetProperty("timestamp")), Now().AddHours(-13), Now().AddHours(-11));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task LatestUsage_IsTheNormalSample_AfterASampleDated2099WasRefused(string route)
    {
        var id = await CreateJobAsync(Client);

        AssertTimestampRefusal(await PostAsync(route, id, new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), cpu: 99));
        Assert.Null(await PostAsync(route, id, Now().AddSeconds(-5), cpu: 42));

        Assert.Equal(42, (await GetJobAsync(Client, id)).GetProperty("cpu_usage").GetDouble());
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task LatestUsage_IsNotChanged_ByAnOlderValidSampleArrivingLater(string route)
    {
        var id = await CreateJobAsync(Client);
        var at = Now().AddMinutes(-1);

        Assert.Null(await PostAsync(route, id, at, cpu: 50));
        Assert.Null(await PostAsync(route, id, at.AddSeconds(-30), cpu: 5));

        Assert.Equal(50, (await GetJobAsync(Client, id)).GetProperty("cpu_usage").GetDouble());
        Assert.Equal(2, (await HistoryAsync(Client, id)).Length);
    }
}

public sealed class SqliteSampleWindowTests(SampleWindowFixture<SqliteBackend> service) : SampleWindowTests<SqliteBackend>(service);

public sealed class PostgresSampleWindowTests(SampleWindowFixture<PostgresBackend> service) : SampleWindowTests<PostgresBackend>(service);
