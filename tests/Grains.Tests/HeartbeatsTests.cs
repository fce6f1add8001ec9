using HpcJobs.Grains.Nodes;

namespace HpcJobs.Grains.Tests;

/// <summary>The reconciliation rules as pure functions: runs of heartbeats, pruning, and when a job is lost.</summary>
public sealed class HeartbeatsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Gap = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan After = TimeSpan.FromSeconds(600);

    /// <summary>Heartbeats every 30 s from <paramref name="from"/> to <paramref name="to"/> (inclusive), each listing <paramref name="jobs"/>.</summary>
    private static NodeRecord? Beat(NodeRecord? node, DateTimeOffset from, DateTimeOffset to, params string[] jobs)
    {
        for (var at = from; at <= to; at += TimeSpan.FromSeconds(30))
        {
            node = Heartbeats.Next(node, jobs, at, Gap, After);
        }

        return node;
    }

    private static bool Lost(string job, DateTimeOffset start, params (string Name, NodeRecord? Node)[] nodes) =>
        Heartbeats.IsLost(
            new RunningJob(job, 1, start, [.. nodes.Select(n => n.Name)]),
            nodes.Where(n => n.Node is not null).ToDictionary(n => n.Name, n => n.Node!),
            After);

    [Fact]
    public void Next_KeepsTheRun_WithinTheGap_AndStartsANewRun_AfterIt()
    {
        var node = Beat(null, T0, T0.AddMinutes(5), "j")!;
        Assert.Equal(T0, node.HeartbeatingSince);

        var late = Heartbeats.Next(node, ["j"], node.LastHeartbeat + Gap + TimeSpan.FromSeconds(1), Gap, After);

        Assert.Equal(late.LastHeartbeat, late.HeartbeatingSince);
    }

    [Fact]
    public void Next_PrunesJobsNotListedWithinTheWindow_AndKeepsTheOthers()
    {
        var node = Beat(null, T0, T0.AddMinutes(1), "old", "kept");
        node = Beat(node, T0.AddMinutes(1.5), T0.AddMinutes(12), "kept", "new")!;

        Assert.DoesNotContain("old", node.Listed.Keys);
        Assert.Equal(["kept", "new"], node.CurrentJobs());
    }

    [Fact]
    public void Next_NeverMovesTheHeartbeatBackwards_WhenTheClockSteps()
    {
        var node = Beat(null, T0, T0.AddMinutes(1), "j")!;

        var stepped = Heartbeats.Next(node, ["j"], T0, Gap, After);

        Assert.Equal(T0.AddMinutes(1), stepped.LastHeartbeat);
    }

    [Fact]
    public void IsLost_IsTrue_OnlyOnceTheNodeHasReportedWithoutTheJobForTheWholeWindow()
    {
        var node = Beat(null, T0, T0.AddMinutes(10), "j");
        var lastListed = node!.LastHeartbeat;
        node = Beat(node, lastListed.AddSeconds(30), lastListed.AddSeconds(570));
        Assert.False(Lost("j", T0.AddHours(-1), ("n", node)));

        node = Beat(node, lastListed.AddSeconds(600), lastListed.AddSeconds(600));
        Assert.True(Lost("j", T0.AddHours(-1), ("n", node)));
    }

    [Fact]
    public void IsLost_IsFalse_WhenTheNodeNeverSentAHeartbeat_OrStoppedWhileListingIt()
    {
        var stopped = Beat(null, T0, T0.AddMinutes(10), "j");

        Assert.False(Lost("j", T0.AddHours(-1), ("silent", null)));
        Assert.False(Lost("j", T0.AddHours(-1), ("n", stopped)));
    }

    [Fact]
    public void IsLost_IsFalse_WhileAnyNodeOfTheJobStillListsIt()
    {
        var a = Beat(null, T0, T0.AddMinutes(30));
        var b = Beat(null, T0, T0.AddMinutes(30), "j");

        Assert.False(Lost("j", T0.AddHours(-1), ("a", a), ("b", b)));
        Assert.True(Lost("j", T0.AddHours(-1), ("a", a), ("a2", a)));
    }

    [Fact]
    public void IsLost_CountsOnlyTheCurrentRun_AndOnlyTimeSinceTheJobStarted()
    {
        // Silent for an hour, then back: the 20 minutes before the gap say nothing about now.
        var node = Beat(null, T0, T0.AddMinutes(20));
        node = Beat(node, T0.AddMinutes(80), T0.AddMinutes(89));
        Assert.False(Lost("j", T0.AddHours(-1), ("n", node)));
        node = Beat(node, T0.AddMinutes(89.5), T0.AddMinutes(90));
        Assert.True(Lost("j", T0.AddHours(-1), ("n", node)));

        // A job that started 5 minutes ago is safe, however long the node has reported.
        Assert.False(Lost("j", T0.AddMinutes(85), ("n", node)));
    }

    [Fact]
    public void IsLost_IsFalse_WhenReconciliationIsOff()
    {
        var node = Beat(null, T0, T0.AddHours(1))!;

        Assert.False(Heartbeats.IsLost(new RunningJob("j", 1, T0, ["n"]), new Dictionary<string, NodeRecord> { ["n"] = node }, TimeSpan.Zero));
    }
}
