using System.Text;
using System.Text.Json;
using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Spool;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent.Sending;

/// <summary>
/// One interval's sending, in order: the Slurm scripts' spooled events (so the jobs exist), the spooled
/// batches oldest first, the new batch, then the heartbeat. A batch the service does not take goes to
/// the spool; while older batches wait there, a new one joins them rather than overtaking them.
/// Heartbeats are never spooled: they only mean something live.
/// </summary>
public sealed class Delivery(ServiceClient client, BatchSpool spool, SpoolOptions spoolOptions, ServiceOptions service, ILogger logger)
{
    private bool _heartbeatFailing;
    private bool _tokenFailing;

    /// <summary>True when the new batch was delivered or spooled (or there was none).</summary>
    public async Task<bool> DeliverAsync(IntervalReading collection, CancellationToken cancel)
    {
        var tokenError = client.RefreshToken();
        if (tokenError is not null && !_tokenFailing)
        {
            AgentLog.TokenUnreadable(logger, service.TokenFile!, tokenError);
        }

        _tokenFailing = tokenError is not null;

        var caughtUp = false;
        try
        {
            caughtUp = await FlushEventsAsync(cancel) && await ReplayAsync(cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // Stopping: the new batch still goes to the spool below, so it is not lost.
        }

        var handled = true;
        if (collection.Samples.Count > 0)
        {
            var body = AgentJson.Batch(collection.Samples);
            handled = caughtUp
                ? await SendAsync(body, collection.Samples.Count, null, cancel) != Sent.Failed
                : spool.TryAdd(body, collection.Samples.Count);
        }

        await HeartbeatAsync(collection, cancel);
        return handled;
    }

    /// <summary>Sends spooled events oldest first; false when the service is not answering at all.</summary>
    private async Task<bool> FlushEventsAsync(CancellationToken cancel)
    {
        foreach (var spooled in EventSpool.Pending(spoolOptions.EventDirectory))
        {
            byte[] body;
            try
            {
                body = await File.ReadAllBytesAsync(spooled.File, cancel);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                AgentLog.EventUnreadable(logger, spooled.File, e.Message);
                continue;
            }

            var result = await client.PostAsync(spooled.Route, body, spooled.Source, cancel);
            switch (result.Outcome)
            {
                case SendOutcome.Delivered:
                    TryDelete(spooled.File);
                    AgentLog.EventFlushed(logger, Path.GetFileName(spooled.File), result.Status);
                    break;
                case SendOutcome.Refused:
                    TryDelete(spooled.File);
                    AgentLog.EventRefused(logger, Path.GetFileName(spooled.File), result.Status, Excerpt(result.Body));
                    break;
                default:
                    // Later events wait too (a job's end must not overtake its start). A 401/403 is
                    // about this token and events only: batches are still tried.
                    AgentLog.EventKept(logger, Path.GetFileName(spooled.File), result.Status, Excerpt(result.Body));
                    return !ServiceClient.ServiceDown(result);
            }
        }

        return true;
    }

    /// <summary>Replays spooled batches oldest first; true when the spool is empty afterwards.</summary>
    private async Task<bool> ReplayAsync(CancellationToken cancel)
    {
        foreach (var file in spool.Pending())
        {
            byte[] body;
            try
            {
                body = await File.ReadAllBytesAsync(file, cancel);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for an operator to look at; it must not hold back every batch behind it.
                AgentLog.SpoolUnreadable(logger, file, e.Message);
                continue;
            }

            if (await SendAsync(body, null, file, cancel) != Sent.Done)
            {
                return false;
            }
        }

        return true;
    }

    private enum Sent
    {
        /// <summary>Stored, duplicates, or refused for good: nothing of it waits.</summary>
        Done,

        /// <summary>All or part of it (samples the service could not store) waits in the spool.</summary>
        Waiting,

        /// <summary>The service did not take it and it could not be spooled.</summary>
        Failed,
    }

    /// <param name="spooled">The spool file <paramref name="body"/> came from; null for a new batch.</param>
    private async Task<Sent> SendAsync(byte[] body, int? count, string? spooled, CancellationToken cancel)
    {
        var result = await client.PostAsync("v1/metrics", body, "agent", cancel);
        var name = spooled is null ? "new batch" : Path.GetFileName(spooled);
        switch (result.Outcome)
        {
            case SendOutcome.Delivered:
                var answer = Parse(result.Body);
                var retry = answer?.Rejected?.Where(r => r.Error == "unavailable").Select(r => r.Index).ToHashSet() ?? [];
                var refused = answer?.Rejected?.Where(r => r.Error != "unavailable").ToList() ?? [];
                AgentLog.BatchDelivered(logger, name, answer?.Accepted ?? 0, answer?.Duplicates ?? 0, refused.Count, retry.Count);
                if (refused.Count > 0)
                {
                    AgentLog.SamplesRejected(logger, refused.Count, refused[0].Index, refused[0].Error, refused[0].Message);
                }

                if (retry.Count > 0)
                {
                    // Those jobs' storage was down: keep exactly those samples, in place of the file they came from.
                    var rest = AgentJson.Subset(body, retry);
                    if (spooled is not null)
                    {
                        spool.Replace(spooled, rest);
                        return Sent.Waiting;
                    }

                    return spool.TryAdd(rest, retry.Count) ? Sent.Waiting : Sent.Failed;
                }

                if (spooled is not null)
                {
                    TryDelete(spooled);
                }

                return Sent.Done;

            case SendOutcome.Refused:
                // A 400 or 413 will be the same answer every time: keeping it would block the spool for good.
                AgentLog.BatchRefused(logger, name, result.Status, Excerpt(result.Body));
                if (spooled is not null)
                {
                    TryDelete(spooled);
                }

                return Sent.Done;

            default:
                AgentLog.BatchNotDelivered(logger, name, result.Status, Excerpt(result.Body));
                if (spooled is not null)
                {
                    return Sent.Waiting;
                }

                return spool.TryAdd(body, count ?? 0) ? Sent.Waiting : Sent.Failed;
        }
    }

    private async Task HeartbeatAsync(IntervalReading collection, CancellationToken cancel)
    {
        var path = "v1/nodes/" + Uri.EscapeDataString(service.Node) + "/heartbeat";
        var result = await client.PostAsync(path, AgentJson.Heartbeat(collection), "agent", cancel);
        if (result.Outcome == SendOutcome.Delivered)
        {
            if (_heartbeatFailing)
            {
                _heartbeatFailing = false;
                AgentLog.HeartbeatRecovered(logger);
            }

            return;
        }

        if (!_heartbeatFailing)
        {
            _heartbeatFailing = true;
            AgentLog.HeartbeatFailed(logger, result.Status, Excerpt(result.Body));
        }
    }

    private static BatchResponse? Parse(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, AgentJson.Default.BatchResponse);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AgentLog.DeleteFailed(logger, file, e.Message);
        }
    }

    private static string Excerpt(string body)
    {
        var text = body.ReplaceLineEndings(" ");
        return text.Length <= 300 ? text : string.Concat(text.AsSpan(0, 300), "...");
    }
}

/// <summary><c>--dry-run</c>: one line per request the agent would send, <c>METHOD PATH JSON</c>, on stdout; nothing is sent or deleted.</summary>
public sealed class DryRun(TextWriter output, BatchSpool spool, SpoolOptions spoolOptions, ServiceOptions service)
{
    public void Print(IntervalReading collection)
    {
        foreach (var spooled in EventSpool.Pending(spoolOptions.EventDirectory))
        {
            Line("/" + spooled.Route, Compact(File.ReadAllBytes(spooled.File)));
        }

        foreach (var file in spool.Pending())
        {
            Line("/v1/metrics", Compact(File.ReadAllBytes(file)));
        }

        if (collection.Samples.Count > 0)
        {
            Line("/v1/metrics", Encoding.UTF8.GetString(AgentJson.Batch(collection.Samples)));
        }

        Line("/v1/nodes/" + Uri.EscapeDataString(service.Node) + "/heartbeat", Encoding.UTF8.GetString(AgentJson.Heartbeat(collection)));
        output.Flush();
    }

    private void Line(string path, string json) => output.WriteLine("POST " + path + " " + json);

    /// <summary>A spooled file written by a script may span lines; the output is one line per request.</summary>
    private static string Compact(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                document.RootElement.WriteTo(writer);
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(body).ReplaceLineEndings(" ");
        }
    }
}
