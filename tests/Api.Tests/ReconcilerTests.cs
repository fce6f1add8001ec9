using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The reconciler against a real service on each backend, with a 3 s window and a pass every
/// second: a running job is ended (failed, raw_state LOST) once every node of it has kept sending
/// heartbeats without listing it for the window, and never before; not when a node sends no
/// heartbeats, stopped sending them, or another node still lists the job; and from stored state
/// after a restart.
/// </summary>
public abstract class ReconcilerTests<TBackend>
    where TBackend : IBackend, new()
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    private static Dictionary<string, string> Settings(int intervalSeconds = 1) => new()
    {
        ["RECONCILE_AFTER_SECONDS"] = ((int)After.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RECONCILE_INTERVAL_SECONDS"] = intervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SAMPLE_INTERVAL_SECONDS"] = "1",
    };

    private static string NewNode() => "rc-" + Guid.NewGuid().ToString("N")[..12];

    [SkippableFact]
    public async Task Reconciler_EndsAJobFailedLost_OnceItsNodeKeepsReportingWithoutIt_AndNotBefore()
    {
        await using var backend = new TBackend();
        await using var service = InProcessService.Start(await backend.CreateDatabaseAsync(), "test", Settings());
        var node = NewNode();
        var id = await CreateJobAsync(service.Client, [node], Now().AddMinutes(-10));

        // Listed for longer than the window: safe.
        await using (var listing = Heartbeats.Start(service.Client, node, id))
        {
            await Task.Delay(After + TimeSpan.FromSeconds(2));
            Assert.Equal("running", await StateAsync(service.Client, id));
        }

        var lastListed = await Heartbeats.SendAsync(service.Client, node, id);
        await using var quiet = Heartbeats.Start(service.Client, node);
        var job = await WaitForStateAsync(service.Client, id, "failed");

        Assert.Equal("LOST", job.GetProperty("scheduler").GetProperty("raw_state").GetString());
        Assert.Contains("lost", job.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.True(ParseTime(job.GetProperty("end_time")) >= lastListed + After,
            $"ended at {job.GetProperty("end_time")}, less than {After.TotalSeconds} s after it was last listed at {Wire(lastListed)}");

        // The end is audited as the reconciler's, in the same transaction as the change.
        using var audit = await service.Client.GetAsync($"/v1/jobs/{id}/audit");
        var entries = (await audit.ReadJsonAsync()).GetProperty("entries");
        var end = entries[entries.GetArrayLength() - 1];
        Assert.Equal("transition", end.GetProperty("change").GetString());
        Assert.Equal("running", end.GetProperty("from_state").GetString());
        Assert.Equal("failed", end.GetProperty("to_state").GetString());
        Assert.Equal("reconciler", end.GetProperty("changed_by").GetString());
        Assert.Equal("reconciler", end.GetProperty("source").GetString());
        Assert.Equal("LOST", end.GetProperty("details").GetProperty("raw_state").GetString());
    }

    [SkippableFact]
    public async Task Reconciler_KeepsAJobRunning_WhenItsNodeNeverSendsAHeartbeat()
    {
        await using var backend = new TBackend();
        await using var service = InProcessService.Start(await backend.CreateDatabaseAsync(), "test", Settings());
        var silent = await CreateJobAsync(service.Client, [NewNode()], Now().AddMinutes(-10));
        var reporting = NewNode();
        var started = Now();
        var control = await CreateJobAsync(service.Client, [reporting], started);

        // The control job, on a node that reports without listing it, shows that passes run; it
        // started just now, so it is safe for the window from its start.
        await using var beat = Heartbeats.Start(service.Client, reporting);
        var ended = await WaitForStateAsync(service.Client, control, "failed");
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.True(ParseTime(ended.GetProperty("end_time")) >= started + After);
        Assert.Equal("running", await StateAsync(service.Client, silent));
    }

    [SkippableFact]
    public async Task Reconciler_KeepsAJobRunning_WhenItsNodeStopsSendingHeartbeats()
    {
        await using var backend = new TBackend();
        await using var service = InProcessService.Start(await backend.CreateDatabaseAsync(), "test", Settings());
        var down = NewNode();
        var id = await CreateJobAsync(service.Client, [down], Now().AddMinutes(-10));
        await using (Heartbeats.Start(service.Client, down, id))
        {
            await Task.Delay(After + TimeSpan.FromSeconds(1));
        }

        var reporting = NewNode();
        var control = await CreateJobAsync(service.Client, [reporting], Now().AddMinutes(-10));
        await using var beat = Heartbeats.Start(service.Client, reporting);
        await WaitForStateAsync(service.Client, control, "failed");
        await Task.Delay(After);

        Assert.Equal("running", await StateAsync(service.Client, id));
    }

    [SkippableFact]
    public async Task Reconciler_KeepsAMultiNodeJobRunning_WhileAnyOfItsNodesListsIt()
    {
        await using var backend = new TBackend();
        await using var service = InProcessService.Start(await backend.CreateDatabaseAsync(), "test", Settings());
        var (a, b) = (NewNode(), NewNode());
        var id = await CreateJobAsync(service.Client, [a, b], Now().AddMinutes(-10));
        var control = await CreateJobAsync(service.Client, [a], Now().AddMinutes(-10));

        await using (Heartbeats.Start(service.Client, a))
        await using (Heartbeats.Start(service.Client, b, id))
        {
            await WaitForStateAsync(service.Client, control, "failed");
            await Task.Delay(After);
            Assert.Equal("running", await StateAsync(service.Client, id));
        }

        await using var quietA = Heartbeats.Start(service.Client, a);
        await using var quietB = Heartbeats.Start(service.Client, b);
        Assert.Equal("LOST", (await WaitForStateAsync(service.Client, id, "failed")).GetProperty("scheduler").GetProperty("raw_state").GetString());
    }

    [SkippableFact]
    public async Task Reconciler_EndsALostJob_FromStoredHeartbeats_AfterARestart()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var node = NewNode();
        string id;

        // First service: its pass never runs (hourly); the node lists the job, then reports without it for longer than the window.
        await using (var first = InProcessService.Start(database, "test", Settings(intervalSeconds: 3600)))
        {
            id = await CreateJobAsync(first.Client, [node], Now().AddMinutes(-10));
            await Heartbeats.SendAsync(first.Client, node, id);
            await using (Heartbeats.Start(first.Client, node))
            {
                await Task.Delay(After + TimeSpan.FromSeconds(2));
            }

            Assert.Equal("running", await StateAsync(first.Client, id));
        }

        // Second service on the same database: no heartbeat reaches it, so only stored state can end the job.
        await using var second = InProcessService.Start(database, "test", Settings());
        var job = await WaitForStateAsync(second.Client, id, "failed");

        Assert.Equal("LOST", job.GetProperty("scheduler").GetProperty("raw_state").GetString());
    }

    private static async Task<string> StateAsync(HttpClient client, string id) =>
        (await GetJobAsync(client, id)).GetProperty("state").GetString()!;

    private static async Task<JsonElement> WaitForStateAsync(HttpClient client, string id, string state)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (true)
        {
            var job = await GetJobAsync(client, id);
            if (job.GetProperty("state").GetString() == state)
            {
                return job;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"job {id} still {job.GetProperty("state")} after {Patience.TotalSeconds} s");
            await Task.Delay(250);
        }
    }

    /// <summary>A node agent's heartbeats, every 300 ms until disposed.</summary>
    private sealed class Heartbeats : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private Heartbeats(HttpClient client, string node, string[] jobs) => _loop = RunAsync(client, node, jobs, _stop.Token);

        public static Heartbeats Start(HttpClient client, string node, params string[] jobs) => new(client, node, jobs);

        /// <summary>One heartbeat; returns when the service received it.</summary>
        public static async Task<DateTimeOffset> SendAsync(HttpClient client, string node, params string[] jobs)
        {
            using var response = await client.PostJsonAsync($"/v1/nodes/{node}/heartbeat", JsonSerializer.Serialize(new { jobs }));
            var body = await response.ReadJsonAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
            return ParseTime(body.GetProperty("received_at"));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        private static async Task RunAsync(HttpClient client, string node, string[] jobs, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                await SendAsync(client, node, jobs);
                try
                {
                    await Task.Delay(300, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}

public sealed class SqliteReconcilerTests : ReconcilerTests<SqliteBackend>;

public sealed class PostgresReconcilerTests : ReconcilerTests<PostgresBackend>;
