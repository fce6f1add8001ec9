using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent;

internal static partial class AgentLog
{
    [LoggerMessage(1, LogLevel.Information, "agent for node {Node} reporting to {Service} every {Interval} s; cgroup root {Root} ({Version})")]
    public static partial void Started(ILogger logger, string node, Uri service, double interval, string root, string version);

    [LoggerMessage(2, LogLevel.Information, "{Vendor} GPU tool {Executable} not found ({Detail}): no GPU fields from it")]
    public static partial void GpuToolMissing(ILogger logger, string vendor, string executable, string detail);

    [LoggerMessage(3, LogLevel.Warning, "{Vendor} GPU tool {Executable} failed ({Detail}): no GPU fields from it until it works again")]
    public static partial void GpuToolFailed(ILogger logger, string vendor, string executable, string detail);

    [LoggerMessage(4, LogLevel.Information, "{Vendor} GPU tool {Executable} works again")]
    public static partial void GpuToolRecovered(ILogger logger, string vendor, string executable);

    [LoggerMessage(5, LogLevel.Information, "removed {Count} interrupted spool writes in {Directory}")]
    public static partial void SpoolLeftoversRemoved(ILogger logger, int count, string directory);

    [LoggerMessage(6, LogLevel.Warning, "spooled {Samples} samples as {File}: the service did not take them")]
    public static partial void BatchSpooled(ILogger logger, int samples, string file);

    [LoggerMessage(7, LogLevel.Error, "cannot write to spool {Directory}: {Error}; this batch is lost")]
    public static partial void SpoolWriteFailed(ILogger logger, string directory, string error);

    [LoggerMessage(8, LogLevel.Warning, "spool over {MaxMb} MB: dropped the {Files} oldest batch files ({Bytes} bytes); {Total} dropped since start")]
    public static partial void SpoolTrimmed(ILogger logger, int files, long bytes, long maxMb, long total);

    [LoggerMessage(9, LogLevel.Warning, "cannot read AGENT_TOKEN_FILE {File}: {Error}; using the last token read (said once until it can be read)")]
    public static partial void TokenUnreadable(ILogger logger, string file, string error);

    [LoggerMessage(10, LogLevel.Warning, "cannot read spooled event {File}: {Error}")]
    public static partial void EventUnreadable(ILogger logger, string file, string error);

    [LoggerMessage(11, LogLevel.Information, "spooled event {File} delivered ({Status})")]
    public static partial void EventFlushed(ILogger logger, string file, int status);

    [LoggerMessage(12, LogLevel.Error, "spooled event {File} refused with {Status}, deleted (it can never succeed): {Body}")]
    public static partial void EventRefused(ILogger logger, string file, int status, string body);

    [LoggerMessage(13, LogLevel.Warning, "spooled event {File} kept: service answered {Status} {Body}")]
    public static partial void EventKept(ILogger logger, string file, int status, string body);

    [LoggerMessage(14, LogLevel.Warning, "cannot read spooled batch {File}: {Error}")]
    public static partial void SpoolUnreadable(ILogger logger, string file, string error);

    [LoggerMessage(15, LogLevel.Debug, "{Batch}: {Accepted} accepted, {Duplicates} duplicates, {Refused} refused, {Retry} to retry")]
    public static partial void BatchDelivered(ILogger logger, string batch, long accepted, long duplicates, int refused, int retry);

    [LoggerMessage(16, LogLevel.Warning, "{Count} samples refused by the service; first: index {Index} {Error}: {Message}")]
    public static partial void SamplesRejected(ILogger logger, int count, int index, string error, string message);

    [LoggerMessage(17, LogLevel.Error, "{Batch} refused with {Status}, dropped (it can never succeed): {Body}")]
    public static partial void BatchRefused(ILogger logger, string batch, int status, string body);

    [LoggerMessage(18, LogLevel.Warning, "{Batch} not delivered (status {Status}: {Body})")]
    public static partial void BatchNotDelivered(ILogger logger, string batch, int status, string body);

    [LoggerMessage(19, LogLevel.Warning, "heartbeat not accepted (status {Status}: {Body}); said once until it works again")]
    public static partial void HeartbeatFailed(ILogger logger, int status, string body);

    [LoggerMessage(20, LogLevel.Information, "heartbeat accepted again")]
    public static partial void HeartbeatRecovered(ILogger logger);

    [LoggerMessage(21, LogLevel.Warning, "cannot delete {File}: {Error}")]
    public static partial void DeleteFailed(ILogger logger, string file, string error);

    [LoggerMessage(22, LogLevel.Error, "interval failed; the next one starts afresh")]
    public static partial void IntervalFailed(ILogger logger, Exception error);
}
