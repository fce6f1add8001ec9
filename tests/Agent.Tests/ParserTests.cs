using HpcJobs.Agent.Cgroups;
using HpcJobs.Agent.Gpus;

namespace HpcJobs.Agent.Tests;

public sealed class ParserTests
{
    [Theory]
    [InlineData("0-3,8,10-11\n", 7)]
    [InlineData("0\n", 1)]
    [InlineData("0-127\n", 128)]
    [InlineData("5,7,9-9\n", 3)]
    [InlineData("\n", 0)]
    public void CpuList_CountsCpusAndRanges(string text, int expected) => Assert.Equal(expected, CpuList.Count(text));

    [Theory]
    [InlineData("0-3,,8")]
    [InlineData("3-1")]
    [InlineData("a-b")]
    [InlineData("1 2")]
    public void CpuList_IsNull_ForTextThatIsNotACpuList(string text) => Assert.Null(CpuList.Count(text));

    [Fact]
    public void KeyedValues_FindsTheExactKey_NotOneEndingWithIt()
    {
        var stat = CgroupTree.V1MemoryStat(987654);
        Assert.Equal(987654UL, KeyedValues.Find(stat, "total_inactive_file"));
        Assert.Equal(12288UL, KeyedValues.Find(stat, "inactive_file"));
        Assert.Null(KeyedValues.Find(stat, "missing_key"));
        Assert.Null(KeyedValues.Find("usage_usec x\n", "usage_usec"));
    }

    [Fact]
    public void SingleValue_ParsesTheKernelsNumber_AndRefusesMax()
    {
        Assert.Equal(3221225472UL, SingleValue.Parse("3221225472\n"));
        Assert.Null(SingleValue.Parse("max\n"));
        Assert.Null(SingleValue.Parse(""));
    }

    [Fact]
    public void ProcsFile_ReadsOnePidALine()
    {
        var pids = new HashSet<int>();
        ProcsFile.AddTo("12\n345\n\n6789\n", pids);
        Assert.Equal([12, 345, 6789], pids.Order());
    }

    [Fact]
    public void KernelFileReader_CutsAFileLargerThanItsBufferAtTheLastWholeLine()
    {
        var path = Path.GetTempFileName();
        try
        {
            // 70,000 bytes of 7-byte lines: the 64 KiB buffer ends in the middle of one.
            File.WriteAllText(path, string.Concat(Enumerable.Range(100000, 10000).Select(p => p + "\n")));
            var pids = new HashSet<int>();
            Assert.True(new KernelFileReader().TryRead(path, out var text));
            ProcsFile.AddTo(text, pids);
            Assert.Equal(65536 / 7, pids.Count);
            Assert.All(pids, p => Assert.InRange(p, 100000, 109999));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ProcSelfCgroup_FindsV2PathAndEachV1Controller()
    {
        const string Hybrid = "12:cpu,cpuacct:/user.slice\n4:memory:/user.slice/session-3.scope\n3:cpuset:/\n1:name=systemd:/user.slice\n0::/user.slice/session-3.scope\n";
        Assert.Equal("/user.slice/session-3.scope", ProcSelfCgroup.Unified(Hybrid));
        Assert.Equal("/user.slice", ProcSelfCgroup.Controller(Hybrid, "cpuacct"));
        Assert.Equal("/user.slice", ProcSelfCgroup.Controller(Hybrid, "cpu"));
        Assert.Equal("/user.slice/session-3.scope", ProcSelfCgroup.Controller(Hybrid, "memory"));
        Assert.Null(ProcSelfCgroup.Controller("0::/\n", "memory"));
    }

    [Fact]
    public void NvidiaSmi_GpuQuery_ReadsValues_AndNotAvailableAsMissing()
    {
        var gpus = NvidiaSmiOutput.ParseGpus("0, GPU-aaaa, 45, 1024\n1, GPU-bbbb, [N/A], [N/A]\n2, GPU-cccc, [Not Supported], 300\n");
        Assert.Equal(
            [new GpuDevice("nvidia:GPU-aaaa", 45, 1024), new GpuDevice("nvidia:GPU-bbbb", null, null), new GpuDevice("nvidia:GPU-cccc", null, 300)],
            gpus);
        Assert.Empty(NvidiaSmiOutput.ParseGpus(""));
    }

    [Fact]
    public void NvidiaSmi_AppsQuery_ReadsProcesses_AndSkipsNotices()
    {
        var apps = NvidiaSmiOutput.ParseApps("4242, GPU-aaaa, 512\n4243, GPU-bbbb, [N/A]\nNo running processes found\n");
        Assert.Equal([new GpuProcess(4242, "nvidia:GPU-aaaa", 512), new GpuProcess(4243, "nvidia:GPU-bbbb", null)], apps);
    }

    [Fact]
    public void RocmSmi_Json_ReadsUseAndVramPerCard()
    {
        const string Json = """
            {"card0": {"GPU use (%)": "37", "VRAM Total Memory (B)": "34342961152", "VRAM Total Used Memory (B)": "2147483648"},
             "card1": {"GPU use (%)": "N/A", "VRAM Total Memory (B)": "34342961152", "VRAM Total Used Memory (B)": "1048576"},
             "system": {"Driver version": "6.7.0"}}
            """;
        Assert.Equal([new GpuDevice("amd:0", 37, 2048), new GpuDevice("amd:1", null, 1)], RocmSmiOutput.ParseDevices("WARNING: something\n" + Json));
        Assert.Empty(RocmSmiOutput.ParseDevices("not json"));
    }

    [Fact]
    public void RocmSmi_PidGpus_ReadsIndicesAfterEachPidLine()
    {
        const string Text = """
            ============================ GPUs Indexed by PID ============================
            PID 5001 is using 2 DRM device(s):
            0 1 
            PID 5002 is using 0 DRM device(s)
            PID 5003 is using 1 DRM device(s):
            3 
            =============================================================================
            """;
        Assert.Equal(
            [new GpuProcess(5001, "amd:0", null), new GpuProcess(5001, "amd:1", null), new GpuProcess(5003, "amd:3", null)],
            RocmSmiOutput.ParsePidGpus(Text));
    }
}
