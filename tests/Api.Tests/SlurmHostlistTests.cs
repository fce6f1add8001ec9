using System.Diagnostics;
using HpcJobs.Api.Events;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The Slurm hostlist expander against the outputs Slurm's <c>scontrol show hostnames</c> gives for
/// the same expressions (src/common/hostlist.c), plus the stricter rules the service adds (dedupe,
/// empty names) and the size bound.
/// </summary>
public sealed class SlurmHostlistTests
{
    public static TheoryData<string, string> Valid => new()
    {
        { "node1", "node1" },
        { "gpu[01-04,07],login[1-2]", "gpu01 gpu02 gpu03 gpu04 gpu07 login1 login2" },
        // The lower bound's written width is the minimum width of every number of the range.
        { "n[08-11]", "n08 n09 n10 n11" },
        { "n[8-11]", "n8 n9 n10 n11" },
        { "n[1-010]", "n1 n2 n3 n4 n5 n6 n7 n8 n9 n10" },
        { "n[098-101]", "n098 n099 n100 n101" },
        { "n[007]", "n007" },
        { "tux[0-2,12,20-21]", "tux0 tux1 tux2 tux12 tux20 tux21" },
        // Several groups: a product, leftmost group outermost.
        { "r[1-2]n[01-02]", "r1n01 r1n02 r2n01 r2n02" },
        { "a[1-2]b[3-4]c[5]", "a1b3c5 a1b4c5 a2b3c5 a2b4c5" },
        // Text after a bracket.
        { "n[1-2]-ib", "n1-ib n2-ib" },
        { "rack[1-2].node", "rack1.node rack2.node" },
        // Only a bracket: the numbers are the names.
        { "[1-3]", "1 2 3" },
        // Commas and whitespace outside brackets separate hosts; whitespace around the whole is ignored.
        { "a,b", "a b" },
        { "a b\tc\nd", "a b c d" },
        { "  a , b  ", "a b" },
        { "n[1, 3]", "n1 n3" },
        // Duplicates: the first occurrence is kept, in place.
        { "a,b,a", "a b" },
        { "n[1-3],n[2-4]", "n1 n2 n3 n4" },
        { "n[1-2,2]", "n1 n2" },
        // Names with characters Slurm allows.
        { "node-01.cluster_a", "node-01.cluster_a" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void TryExpand_ReturnsSlurmsHosts_ForValidExpression(string expression, string expected)
    {
        var ok = SlurmHostlist.TryExpand(expression, SlurmHostlist.DefaultMaxHosts, out var hosts, out var error);

        Assert.True(ok, error);
        Assert.Null(error);
        Assert.Equal(expected.Split(' '), hosts);
    }

    /// <summary>Each malformed expression, and the words its message must contain (problem and position).</summary>
    public static TheoryData<string, string[]> Malformed => new()
    {
        { "", ["empty hostlist"] },
        { "   ", ["empty hostlist"] },
        { "gpu[01-04", ["not closed", "position 4"] },
        { "gpu01-04]", ["']' without '['", "position 9"] },
        { "a[1-2]],b", ["']' without '['", "position 7"] },
        { "n[]", ["empty range", "position 3"] },
        { "n[1,]", ["empty range", "position 5"] },
        { "n[,1]", ["empty range", "position 3"] },
        { "n[5-3]", ["reversed range 5-3", "position 3"] },
        { "n[1-2,09-08]", ["reversed range 09-08", "position 7"] },
        { "n[a-3]", ["'a' is not a digit", "position 3"] },
        { "n[1-3b]", ["'b' is not a digit", "position 6"] },
        { "n[1-2-3]", ["'-' is not a digit", "position 6"] },
        { "n[-3]", ["missing number", "position 3"] },
        { "n[1-]", ["missing number", "position 5"] },
        { "n[+1]", ["'+' is not a digit", "position 3"] },
        { "n[1[2]]", ["nested '['", "position 4"] },
        { "a,,b", ["empty host name", "position 3"] },
        { ",a", ["empty host name", "position 1"] },
        { "a,", ["empty host name", "position 2"] },
        { "a, ,b", ["empty host name", "position 4"] },
        { "a\u0001b", ["control character", "position 2"] },
        { "n[1234567890123456789]", ["number too large", "position 3"] },
        { new string('a', 256), ["longer than 255", "position 1"] },
        { "x," + new string('a', 250) + "[100000-100001]", ["longer than 255", "position 3"] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryExpand_NamesProblemAndPosition_ForMalformedExpression(string expression, string[] expectedWords)
    {
        var ok = SlurmHostlist.TryExpand(expression, SlurmHostlist.DefaultMaxHosts, out var hosts, out var error);

        Assert.False(ok);
        Assert.Empty(hosts);
        Assert.NotNull(error);
        foreach (var word in expectedWords)
        {
            Assert.Contains(word, error, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, int, bool> Bounds => new()
    {
        { "n[1-10]", 10, true },
        { "n[1-11]", 10, false },
        { "n[1-5],m[1-5]", 10, true },
        { "n[1-5],m[1-6]", 10, false },
        { "r[1-3]n[1-4]", 12, true },
        { "r[1-3]n[1-4]", 11, false },
        { "a,b,c", 2, false },
        // Duplicates count toward the bound: it is checked before anything is built.
        { "a,a,a", 2, false },
    };

    [Theory]
    [MemberData(nameof(Bounds))]
    public void TryExpand_EnforcesMaxHosts_OnTheExpandedSize(string expression, int maxHosts, bool accepted)
    {
        var ok = SlurmHostlist.TryExpand(expression, maxHosts, out var hosts, out var error);

        Assert.Equal(accepted, ok);
        if (!accepted)
        {
            Assert.Empty(hosts);
            Assert.Contains($"more than {maxHosts} hosts", error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("n[0-999999999]")]
    [InlineData("n[0-999999999999999999]")]
    [InlineData("a[0-999999]b[0-999999]c[0-999999]")]
    [InlineData("n[1-100000,1-100000,1-100000,1-100000,1-100000]")]
    public void TryExpand_RejectsHugeRange_WithoutMaterialisingIt(string expression)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();

        var ok = SlurmHostlist.TryExpand(expression, SlurmHostlist.DefaultMaxHosts, out _, out var error);

        watch.Stop();
        Assert.False(ok);
        Assert.Contains("more than 10000 hosts", error, StringComparison.Ordinal);
        // Building even 10,000 names would allocate far more than this.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024, "the range was materialised");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public void TryExpand_ExpandsExactlyMaxHosts_InOrder()
    {
        var ok = SlurmHostlist.TryExpand("n[00001-10000]", 10_000, out var hosts, out _);

        Assert.True(ok);
        Assert.Equal(10_000, hosts.Count);
        Assert.Equal("n00001", hosts[0]);
        Assert.Equal("n10000", hosts[^1]);
    }
}
