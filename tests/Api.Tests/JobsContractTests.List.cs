using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using System.Text.Json;

namespace HpcJobs.Api.Tests;

/// <summary>GET /v1/jobs: filters, totals, order and paging.</summary>
public abstract partial class JobsContractTests<TBackend>
{
    protected async Task<JsonElement> ListAsync(string query) =>
        await ExpectJsonAsync(await Client.GetAsync("/v1/jobs?" + query), HttpStatusCode.OK);

    [SkippableFact]
    public async Task ListJobs_ReturnsJobsTotalLimitOffset_WithDefaultsEchoed()
    {
        var user = NewName("user");
        var id = (await CreateJobAsync(user: user)).GetProperty("id").GetString()!;

        var list = await ListAsync("user=" + user);

        Assert.Equal([id], Ids(list));
        Assert.Equal(1, list.GetProperty("total").GetInt64());
        Assert.Equal(100, list.GetProperty("limit").GetInt32());
        Assert.Equal(0, list.GetProperty("offset").GetInt32());
        var job = list.GetProperty("jobs")[0];
        Assert.Equal(user, job.GetProperty("user").GetString());
        Assert.Equal("running", job.GetProperty("state").GetString());
        AssertUtcTime(job.GetProperty("start_time").GetString());
        Assert.True(job.GetProperty("runtime_seconds").GetDouble() >= 0);
    }

    [SkippableFact]
    public async Task ListJobs_EchoesLimitAndOffset_WhenGiven()
    {
        var list = await ListAsync($"user={NewName("user")}&limit=1000&offset=7");

        Assert.Empty(list.GetProperty("jobs").EnumerateArray());
        Assert.Equal(0, list.GetProperty("total").GetInt64());
        Assert.Equal(1000, list.GetProperty("limit").GetInt32());
        Assert.Equal(7, list.GetProperty("offset").GetInt32());
    }

    [SkippableFact]
    public async Task ListJobs_ReturnsOnlyJobsInState_WhenStateFilterGiven()
    {
        var user = NewName("user");
        var running = await CreateJobInStateAsync("running", user);
        var pending = await CreateJobInStateAsync("pending", user);
        var completed = await CreateJobInStateAsync("completed", user);
        var failed = await CreateJobInStateAsync("failed", user);
        var cancelled = await CreateJobInStateAsync("cancelled", user);

        foreach (var (state, id) in new[] { ("running", running), ("pending", pending), ("completed", completed), ("failed", failed), ("cancelled", cancelled) })
        {
            var list = await ListAsync($"user={user}&state={state}");
            Assert.Equal([id], Ids(list));
            Assert.Equal(1, list.GetProperty("total").GetInt64());
            Assert.Equal(state, list.GetProperty("jobs")[0].GetProperty("state").GetString());
        }

        Assert.Equal(5, (await ListAsync("user=" + user)).GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_ReturnsOnlyTheUsersJobs_WhenUserFilterGiven()
    {
        var alice = NewName("user");
        var bob = NewName("user");
        var a1 = (await CreateJobAsync(user: alice)).GetProperty("id").GetString()!;
        var a2 = (await CreateJobAsync(user: alice)).GetProperty("id").GetString()!;
        var b1 = (await CreateJobAsync(user: bob)).GetProperty("id").GetString()!;

        var aliceJobs = await ListAsync("user=" + alice);
        var bobJobs = await ListAsync("user=" + bob);

        Assert.Equal(new[] { a1, a2 }.Order(StringComparer.Ordinal), Ids(aliceJobs).Order(StringComparer.Ordinal));
        Assert.Equal(2, aliceJobs.GetProperty("total").GetInt64());
        Assert.Equal([b1], Ids(bobJobs));
        Assert.Equal(1, bobJobs.GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_MatchesAnyOfAJobsNodes_WhenNodeFilterGiven()
    {
        var first = NewName("node");
        var shared = NewName("node");
        var last = NewName("node");
        var both = (await CreateJobAsync(nodes: [first, shared])).GetProperty("id").GetString()!;
        var sharedOnly = (await CreateJobAsync(nodes: [shared, last])).GetProperty("id").GetString()!;

        Assert.Equal([both], Ids(await ListAsync("node=" + first)));
        Assert.Equal([sharedOnly], Ids(await ListAsync("node=" + last)));
        var sharedList = await ListAsync("node=" + shared);
        Assert.Equal(new[] { both, sharedOnly }.Order(StringComparer.Ordinal), Ids(sharedList).Order(StringComparer.Ordinal));
        Assert.Equal(2, sharedList.GetProperty("total").GetInt64());
        Assert.Equal(0, (await ListAsync("node=" + NewName("node"))).GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_CountsAJobOnce_WhenItListsTheSameNodeTwice()
    {
        var node = NewName("node");
        var id = (await CreateJobAsync(nodes: [node, node])).GetProperty("id").GetString()!;

        var list = await ListAsync("node=" + node);

        Assert.Equal([id], Ids(list));
        Assert.Equal(1, list.GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_AppliesEveryFilter_WhenSeveralGiven()
    {
        var user = NewName("user");
        var other = NewName("user");
        var node = NewName("node");
        var match = await CreateJobAsync(state: "pending", user: user, nodes: ["x", node]);
        await CreateJobAsync(state: "running", user: user, nodes: [node]);
        await CreateJobAsync(state: "pending", user: user, nodes: ["x"]);
        await CreateJobAsync(state: "pending", user: other, nodes: [node]);

        var list = await ListAsync($"user={user}&node={node}&state=pending");

        Assert.Equal([match.GetProperty("id").GetString()!], Ids(list));
        Assert.Equal(1, list.GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_CountsEveryMatchInTotal_WhenLimitCutsThePage()
    {
        var user = NewName("user");
        for (var i = 0; i < 5; i++)
        {
            await CreateJobAsync(user: user);
        }

        var firstPage = await ListAsync($"user={user}&limit=2");
        var lastPage = await ListAsync($"user={user}&limit=2&offset=4");
        var beyond = await ListAsync($"user={user}&limit=2&offset=10");

        Assert.Equal(2, firstPage.GetProperty("jobs").GetArrayLength());
        Assert.Equal(5, firstPage.GetProperty("total").GetInt64());
        Assert.Equal(1, lastPage.GetProperty("jobs").GetArrayLength());
        Assert.Equal(5, lastPage.GetProperty("total").GetInt64());
        Assert.Equal(0, beyond.GetProperty("jobs").GetArrayLength());
        Assert.Equal(5, beyond.GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_ReturnsAnEmptyPageWithTotal_WhenOffsetIsBeyondEveryMatch()
    {
        var user = NewName("user");
        await CreateJobAsync(user: user);

        // The contract bounds offset only below (>= 0); 2^31 must not be refused as malformed.
        var list = await ListAsync($"user={user}&offset=2147483648");

        Assert.Empty(Ids(list));
        Assert.Equal(1, list.GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task ListJobs_TotalCountsEveryJobOfTheState_WhenOnlyStateOrNoFilterGiven()
    {
        // These totals are kept apart from the rows (job_counts); every kind of change must move them.
        var before = await StateTotalsAsync();
        var user = NewName("user");
        var cancelled = await CreateJobInStateAsync("running", user);
        await CreateJobInStateAsync("pending", user);
        await CreateJobInStateAsync("completed", user);
        var deleted = await CreateJobInStateAsync("failed", user);
        await PostSampleAsync(cancelled, """{"cpu_usage":10,"memory_usage_mb":10}""");
        await ExpectJsonAsync(await Client.PatchJsonAsync(JobPath(cancelled), """{"state":"cancelled"}"""), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync(JobPath(deleted))).StatusCode);

        var after = await StateTotalsAsync();

        Assert.Equal(
            new Dictionary<string, long> { ["running"] = 0, ["pending"] = 1, ["completed"] = 1, ["failed"] = 0, ["cancelled"] = 1, [""] = 3 },
            after.ToDictionary(t => t.Key, t => t.Value - before[t.Key]));
        Assert.Equal(after[""], after.Where(t => t.Key != "").Sum(t => t.Value));
    }

    /// <summary>The total of a state-only list for every state, and of the unfiltered list under "".</summary>
    private async Task<Dictionary<string, long>> StateTotalsAsync()
    {
        var totals = new Dictionary<string, long>();
        foreach (var state in new[] { "running", "pending", "completed", "failed", "cancelled", "" })
        {
            var list = await ListAsync(state == "" ? "limit=1" : $"state={state}&limit=1");
            totals[state] = list.GetProperty("total").GetInt64();
        }

        return totals;
    }

    [SkippableFact]
    public async Task ListJobs_OrdersByStartTimeDescendingThenId_AndPagesWithoutGapsOrDuplicates()
    {
        var user = NewName("user");
        var prefix = Guid.NewGuid().ToString("N");

        // Created out of order; ties on start_time are broken by id.
        var jobs = new (string Id, string Start)[]
        {
            (prefix + "-3", "2026-01-15T10:00:00Z"),
            (prefix + "-5", "2026-01-15T12:00:00Z"),
            (prefix + "-1", "2026-01-15T11:00:00Z"),
            (prefix + "-4", "2026-01-15T12:00:00Z"),
            (prefix + "-2", "2026-01-15T11:00:00Z"),
            (prefix + "-6", "2026-01-15T09:00:00.000001Z"),
            (prefix + "-0", "2026-01-15T09:00:00Z"),
        };
        foreach (var (id, start) in jobs)
        {
            await CreateJobAsync(id, user: user, startTime: start);
        }

        string[] expected = [prefix + "-4", prefix + "-5", prefix + "-1", prefix + "-2", prefix + "-3", prefix + "-6", prefix + "-0"];

        Assert.Equal(expected, Ids(await ListAsync("user=" + user)));
        var paged = new List<string>();
        for (var offset = 0; offset < jobs.Length; offset += 2)
        {
            var page = await ListAsync($"user={user}&limit=2&offset={offset}");
            Assert.Equal(jobs.Length, page.GetProperty("total").GetInt64());
            paged.AddRange(Ids(page));
        }

        Assert.Equal(expected, paged);
    }

    [SkippableFact]
    public async Task ListJobs_ShowsTheJobsCurrentStateAndUsage_AfterChanges()
    {
        var user = NewName("user");
        var id = (await CreateJobAsync(user: user)).GetProperty("id").GetString()!;
        await PostSampleAsync(id, """{"cpu_usage":42.5,"memory_usage_mb":1024,"gpu_usage":12.5}""");
        await ExpectJsonAsync(await Client.PatchJsonAsync(JobPath(id), """{"state":"completed"}"""), HttpStatusCode.OK);

        var job = (await ListAsync("user=" + user)).GetProperty("jobs")[0];

        Assert.Equal("completed", job.GetProperty("state").GetString());
        AssertUtcTime(job.GetProperty("end_time").GetString());
        Assert.Equal(42.5, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(1024, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(12.5, job.GetProperty("gpu_usage").GetDouble());
        var single = await GetJobAsync(id);
        Assert.Equal(single.GetProperty("end_time").GetString(), job.GetProperty("end_time").GetString());
        Assert.Equal(single.GetProperty("runtime_seconds").GetDouble(), job.GetProperty("runtime_seconds").GetDouble());
    }

    [SkippableTheory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=-1")]
    [InlineData("limit=abc")]
    [InlineData("limit=1.5")]
    [InlineData("limit=")]
    [InlineData("limit=99999999999999999999")]
    [InlineData("offset=-1")]
    [InlineData("offset=abc")]
    [InlineData("state=bogus")]
    [InlineData("state=running&state=pending")]
    [InlineData("limit=10&limit=10")]
    [InlineData("user=a&user=b")]
    [InlineData("node=a&node=b")]
    public async Task ListJobs_Returns400InvalidRequest_WhenQueryParameterIsBad(string query)
    {
        var response = await Client.GetAsync("/v1/jobs?" + query);

        await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", query);
    }
}
