using System.Text;
using HpcJobs.Agent.Spool;

namespace HpcJobs.Agent.Tests;

public sealed class SpoolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hpc-agent-spool-").FullName;
    private readonly ListLogger _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Spool_KeepsBatchesInOrder_AndContinuesTheSequenceAfterARestart()
    {
        var first = Open(1 << 20);
        Assert.True(first.TryAdd(Body("a", 10), 1));
        Assert.True(first.TryAdd(Body("b", 10), 1));

        var second = Open(1 << 20);
        Assert.True(second.TryAdd(Body("c", 10), 1));

        Assert.Equal(["a", "b", "c"], second.Pending().Select(f => Tag(File.ReadAllText(f))));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Spool_Open_RemovesInterruptedWrites_AndKeepsEveryRenamedFile()
    {
        var spool = Open(1 << 20);
        spool.TryAdd(Body("kept", 10), 1);
        File.WriteAllText(Path.Combine(_dir, ".batch-000000000002.json.999.tmp"), "{\"samp");

        var reopened = Open(1 << 20);

        Assert.Equal(["kept"], reopened.Pending().Select(f => Tag(File.ReadAllText(f))));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Spool_OverItsBound_DropsTheOldestFiles_CountsAndLogsThem()
    {
        var spool = Open(3500);
        foreach (var tag in new[] { "1", "2", "3", "4", "5" })
        {
            spool.TryAdd(Body(tag, 1000), 1);
        }

        var kept = spool.Pending().Select(f => Tag(File.ReadAllText(f))).ToList();
        Assert.Equal(["3", "4", "5"], kept);
        Assert.Equal(2, spool.DroppedFiles);
        Assert.Equal(2, _log.Lines.Count(l => l.Contains("dropped the 1 oldest")));
        Assert.True(spool.Pending().Sum(f => new FileInfo(f).Length) <= 3500);
    }

    [Fact]
    public void Spool_Replace_SwapsTheFileAtomically_InPlace()
    {
        var spool = Open(1 << 20);
        spool.TryAdd(Body("x", 10), 1);
        spool.TryAdd(Body("y", 10), 1);
        var oldest = spool.Pending()[0];

        spool.Replace(oldest, Body("x-rest", 10));

        Assert.Equal(["x-rest", "y"], spool.Pending().Select(f => Tag(File.ReadAllText(f))));
    }

    [Fact]
    public void EventSpool_ReadsOnlyTheAgreedNames_OldestFirst_StartedBeforeFinished()
    {
        foreach (var name in new[]
        {
            "1764583200000000300-77.finished.json", "1764583200000000100-12.started.json", "1764583200000000300-77.started.json",
            "1764583200000000200-13.finished.json", ".1764583200000000400-14.started.json.tmp", "notes.json", "12-x.started.json",
        })
        {
            File.WriteAllText(Path.Combine(_dir, name), "{}");
        }

        Assert.Equal(
            ["1764583200000000100-12.started.json", "1764583200000000200-13.finished.json", "1764583200000000300-77.started.json", "1764583200000000300-77.finished.json"],
            EventSpool.Pending(_dir).Select(e => Path.GetFileName(e.File)));
        Assert.Equal("v1/events/job-started", EventSpool.Pending(_dir)[0].Route);
        Assert.Equal("v1/events/job-finished", EventSpool.Pending(_dir)[1].Route);
    }

    private BatchSpool Open(long maxBytes)
    {
        var spool = new BatchSpool(new SpoolOptions(_dir, maxBytes, _dir + "-events"), _log);
        spool.Open();
        return spool;
    }

    /// <summary>A batch body of about <paramref name="size"/> bytes whose first sample's job id is <paramref name="tag"/>.</summary>
    private static byte[] Body(string tag, int size) =>
        Encoding.UTF8.GetBytes($$"""{"samples":[{"job_id":"{{tag}}","pad":"{{new string('x', Math.Max(0, size - 40))}}"}]}""");

    private static string Tag(string body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("samples")[0].GetProperty("job_id").GetString()!;
}
