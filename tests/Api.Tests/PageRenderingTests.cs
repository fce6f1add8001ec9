using HpcJobs.Api.Contracts;
using HpcJobs.Api.Pages;
using HpcJobs.Grains;

namespace HpcJobs.Api.Tests;

/// <summary>The pages' HTML writer and the advice sentences, without a service.</summary>
public sealed class PageRenderingTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void HtmlWriter_EncodesTextAndAttributeValues()
    {
        var html = new HtmlWriter();
        html.Leaf("td", "<script>alert(\"x\")</script> & 'q'", ("data-node", "\"><img src=x onerror=alert(1)>"), ("title", null));

        Assert.Equal(
            "<td data-node=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;</td>",
            html.ToString());
    }

    [Fact]
    public void HtmlWriter_KeepsNonAsciiText_Readable()
    {
        var html = new HtmlWriter();
        html.Leaf("p", "running → completed · Zürich");

        Assert.Equal("<p>running → completed · Zürich</p>", html.ToString());
    }

    [Theory]
    [InlineData("td onclick")]
    [InlineData("td><script")]
    [InlineData("")]
    public void HtmlWriter_RefusesNamesThatAreNotNames(string name)
    {
        Assert.Throws<ArgumentException>(() => new HtmlWriter().Leaf(name, "x"));
        Assert.Throws<ArgumentException>(() => new HtmlWriter().Leaf("td", "x", (name, "v")));
    }

    [Theory]
    [InlineData(JobFlags.IdleGpu, "the job used 1.5 % of its 2 GPUs; request fewer or none (--gres=gpu:0).")]
    [InlineData(JobFlags.LowCpu, "the job used 12.3 % of its 8 CPU cores on average; request fewer cores (--cpus-per-task, --ntasks) or check that the program runs in parallel.")]
    [InlineData(JobFlags.MemoryOverallocated, "memory peaked at 62500 MB, 95.4 % of the 65536 MB requested; request less (--mem=74G) so that other jobs fit beside it.")]
    [InlineData(JobFlags.NearMemoryLimit, "memory peaked at 62500 MB, 95.4 % of the 65536 MB requested; request more (--mem) before the job is killed for running out of it.")]
    [InlineData(JobFlags.OomKilled, "the job ran out of memory (2 OOM kills); request more memory (--mem) or reduce what the program holds at once.")]
    [InlineData(JobFlags.NoData, "no usage sample arrived in the last 10 minutes; check that the node agent runs on the job's nodes.")]
    [InlineData(JobFlags.Lost, "the end of the job was never reported, so the service ended it once its nodes stopped listing it; check the job's output and the epilog on its nodes.")]
    public void FlagAdvice_For_UsesTheJobsOwnFigures(string flag, string advice) =>
        Assert.Equal(advice, FlagAdvice.For(flag, Job(oomKills: 2)));

    [Fact]
    public void FlagAdvice_OomKilled_WithoutAReportedKill_StillAdvises() =>
        Assert.Equal(
            "the job ran out of memory; request more memory (--mem) or reduce what the program holds at once.",
            FlagAdvice.For(JobFlags.OomKilled, Job(oomKills: 0)));

    [Fact]
    public void Report_WithoutAllocationOrSamples_SaysWhatIsUnknown()
    {
        var job = JobResponse.From(
            new JobView("bare", "bob", ["n1"], JobState.Completed, Start, Start.AddMinutes(5), null, null), Start.AddHours(1));

        var text = JobReportResponse.From(job).ToText();

        Assert.Equal(
            """
            Efficiency report for job bare (attempt 1)
              User:       bob
              Account:    -
              Partition:  -
              State:      completed
              Nodes:      n1
              Runtime:    5 min 00 s (no time limit known)
              CPU:        no sample yet (unknown cores allocated)
              Memory:     no sample yet
              Coverage:   0 % of the runtime has samples (0 samples)
              Flags:      none

            """.ReplaceLineEndings("\n"),
            text);
    }

    private static JobResponse Job(long oomKills)
    {
        var summary = new JobSummary(
            100, Start, Start.AddHours(2), 12.34, 40, 1.5, 3, 62500, 16, 1.97, 4, 0.06, 95.37, 1, 0.99, oomKills);
        var view = new JobView(
            "j1", "alice", ["n1", "n2"], JobState.Running, Start, null, null, null,
            new JobAllocation(Cpus: 8, MemoryMb: 65536, Gpus: 2), Summary: summary, Flags: JobFlags.All);
        return JobResponse.From(view, Start.AddHours(2));
    }
}
