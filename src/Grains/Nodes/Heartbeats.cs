namespace HpcJobs.Grains.Nodes;

/// <summary>The two rules of reconciliation, as pure functions of stored state.</summary>
public static class Heartbeats
{
    /// <summary>
    /// The node's state after a heartbeat received at <paramref name="now"/> listing <paramref name="jobs"/>.
    /// A heartbeat more than <paramref name="maxGap"/> after the previous one starts a new run; jobs last
    /// listed more than <paramref name="keep"/> ago are dropped, which changes no verdict of
    /// <see cref="IsLost"/> (such a job has already gone unlisted for that long).
    /// </summary>
    public static NodeRecord Next(NodeRecord? previous, IReadOnlyList<string> jobs, DateTimeOffset now, TimeSpan maxGap, TimeSpan keep)
    {
        // A clock that steps back (another silo's, or NTP) never moves a node's heartbeat backwards.
        if (previous is not null && now < previous.LastHeartbeat)
        {
            now = previous.LastHeartbeat;
        }

        var continues = previous is not null && now - previous.LastHeartbeat <= maxGap;
        var listed = new Dictionary<string, DateTimeOffset>(jobs.Count, StringComparer.Ordinal);
        if (continues)
        {
            foreach (var (job, at) in previous!.Listed)
            {
                if (now - at <= keep)
                {
                    listed[job] = at;
                }
            }
        }

        foreach (var job in jobs)
        {
            listed[job] = now;
        }

        return new NodeRecord
        {
            LastHeartbeat = now,
            HeartbeatingSince = continues ? previous!.HeartbeatingSince : now,
            Listed = listed,
        };
    }

    /// <summary>
    /// True when every node of <paramref name="job"/> has sent heartbeats without a gap for at least
    /// <paramref name="after"/> since the later of the job's start, the start of its run and the last
    /// heartbeat that listed the job. A node that never sent a heartbeat, or that stopped sending them
    /// before that long, keeps the job running: silence is not evidence.
    /// </summary>
    public static bool IsLost(RunningJob job, IReadOnlyDictionary<string, NodeRecord> nodes, TimeSpan after)
    {
        if (after <= TimeSpan.Zero || job.Nodes.Count == 0)
        {
            return false;
        }

        foreach (var name in job.Nodes)
        {
            if (!nodes.TryGetValue(name, out var node))
            {
                return false;
            }

            var unlistedFrom = Max(node.HeartbeatingSince, job.StartTime);
            if (node.Listed.TryGetValue(job.Id, out var listed))
            {
                unlistedFrom = Max(unlistedFrom, listed);
            }

            if (node.LastHeartbeat - unlistedFrom < after)
            {
                return false;
            }
        }

        return true;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
