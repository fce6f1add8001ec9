using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent.Gpus;

/// <summary>
/// One vendor tool (nvidia-smi or rocm-smi). A tool that is not installed is said once and never run
/// again; a tool that fails is said when it starts failing and when it recovers, not every interval.
/// </summary>
public sealed class GpuTool(string vendor, string executable, IReadOnlyList<string> queries,
    Func<IReadOnlyList<string>, GpuSnapshot> parse, TimeSpan timeout, ILogger logger)
{
    private bool _missing;
    private bool _failing;

    public string Vendor { get; } = vendor;

    public bool Missing => _missing;

    public static GpuTool Nvidia(string executable, TimeSpan timeout, ILogger logger) =>
        new("nvidia", executable, [NvidiaSmiOutput.GpuQuery, NvidiaSmiOutput.AppsQuery],
            outputs => new GpuSnapshot(NvidiaSmiOutput.ParseGpus(outputs[0]), NvidiaSmiOutput.ParseApps(outputs[1])), timeout, logger);

    public static GpuTool Rocm(string executable, TimeSpan timeout, ILogger logger) =>
        new("amd", executable, [RocmSmiOutput.DevicesQuery, RocmSmiOutput.PidGpusQuery],
            outputs => new GpuSnapshot(RocmSmiOutput.ParseDevices(outputs[0]), RocmSmiOutput.ParsePidGpus(outputs[1])), timeout, logger);

    /// <summary>The tool's GPUs and their compute processes; null when the tool is absent or failed.</summary>
    public async Task<GpuSnapshot?> ReadAsync(CancellationToken cancel)
    {
        if (_missing)
        {
            return null;
        }

        var outputs = new string[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            var result = await ToolRunner.RunAsync(executable, queries[i], timeout, cancel);
            if (result.Status == ToolStatus.Missing)
            {
                _missing = true;
                AgentLog.GpuToolMissing(logger, Vendor, executable, result.Detail);
                return null;
            }

            if (result.Status == ToolStatus.Failed)
            {
                if (!_failing)
                {
                    _failing = true;
                    AgentLog.GpuToolFailed(logger, Vendor, executable, result.Detail);
                }

                return null;
            }

            outputs[i] = result.Output;
        }

        if (_failing)
        {
            _failing = false;
            AgentLog.GpuToolRecovered(logger, Vendor, executable);
        }

        return parse(outputs);
    }
}
