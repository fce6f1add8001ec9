using System.Net;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>DELETE /v1/jobs/{id}: the job and its samples go, the id becomes free.</summary>
public abstract partial class JobsContractTests<TBackend>
{
    [SkippableTheory]
    [InlineData("pending")]
    [InlineData("running")]
    [InlineData("completed")]
    public async Task DeleteJob_Returns204AndRemovesJobEverywhere_WhenJobExists(string state)
    {
        var user = NewName("user");
        var node = NewName("node");
        var id = (await CreateJobAsync(state: state == "pending" ? "pending" : "running", user: user, nodes: [node])).GetProperty("id").GetString()!;
        await PostSampleAsync(id, """{"cpu_usage":50,"memory_usage_mb":100}""");
        if (state == "completed")
        {
            await PatchAsync(id, """{"state":"completed"}""");
        }

        var response = await Client.DeleteAsync(JobPath(id));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id)), HttpStatusCode.NotFound, "not_found", "GET job");
        await ExpectErrorAsync(await Client.GetAsync(JobPath(id) + "/metrics"), HttpStatusCode.NotFound, "not_found", "GET metrics");
        var byUser = await ListAsync("user=" + user);
        Assert.Empty(Ids(byUser));
        Assert.Equal(0, byUser.GetProperty("total").GetInt64());
        Assert.Equal(0, (await ListAsync("node=" + node)).GetProperty("total").GetInt64());
    }

    [SkippableFact]
    public async Task DeleteJob_Returns404NotFound_WhenDeletedTwice()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync(JobPath(id))).StatusCode);

        var response = await Client.DeleteAsync(JobPath(id));

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [SkippableFact]
    public async Task DeleteJob_Returns404NotFound_WhenJobUnknown()
    {
        var response = await Client.DeleteAsync(JobPath(NewId()));

        await ExpectErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [SkippableFact]
    public async Task DeleteJob_MakesLaterChangesAnswer404_WhenJobWasDeleted()
    {
        var id = (await CreateJobAsync()).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync(JobPath(id))).StatusCode);

        await ExpectErrorAsync(await Client.PatchJsonAsync(JobPath(id), """{"state":"completed"}"""), HttpStatusCode.NotFound, "not_found", "PATCH");
        await ExpectErrorAsync(
            await Client.PostJsonAsync(JobPath(id) + "/metrics", """{"cpu_usage":1,"memory_usage_mb":1}"""), HttpStatusCode.NotFound, "not_found", "POST metrics");
    }

    [SkippableFact]
    public async Task DeleteJob_FreesTheId_SoANewJobStartsWithoutOldSamples()
    {
        var id = (await CreateJobAsync(user: "old-owner")).GetProperty("id").GetString()!;
        await PostSampleAsync(id, """{"cpu_usage":77,"memory_usage_mb":4096,"gpu_usage":33}""");
        await PatchAsync(id, """{"state":"completed"}""");
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync(JobPath(id))).StatusCode);

        var user = NewName("user");
        var created = await CreateJobAsync(id, "pending", user);

        foreach (var job in new[] { created, await GetJobAsync(id), (await ListAsync("user=" + user)).GetProperty("jobs")[0] })
        {
            Assert.Equal(user, job.GetProperty("user").GetString());
            Assert.Equal("pending", job.GetProperty("state").GetString());
            Assert.False(job.TryGetProperty("end_time", out _));
            Assert.Equal(0, job.GetProperty("cpu_usage").GetDouble());
            Assert.Equal(0, job.GetProperty("memory_usage_mb").GetInt64());
            Assert.False(job.TryGetProperty("gpu_usage", out _));
        }

        var history = await ExpectJsonAsync(await Client.GetAsync(JobPath(id) + "/metrics"), HttpStatusCode.OK);
        Assert.Empty(history.GetProperty("samples").EnumerateArray());
        Assert.Equal(0, history.GetProperty("total").GetInt32());
    }
}
