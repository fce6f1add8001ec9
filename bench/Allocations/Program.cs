using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Summarises a dotnet-trace allocation trace (bench/allocations.sh) as allocations per request and
// per unit of work, by type.
//
//   HpcJobs.Bench.Allocations <trace.nettrace> [per-request-units] [types] [frames] [sites]
//
// The trace must hold the runtime's GC AllocationTick events (one about every 100 KB allocated on
// a heap, carrying the type of the object that crossed the mark and the bytes since the last tick)
// and the EventCounters of System.Runtime (alloc-rate: the exact bytes allocated) and
// Microsoft.AspNetCore.Hosting (requests-per-second). The request counter fixes the window and the
// count; the ticks in that same window give the bytes, by type (an object count per type is
// estimated as bytes / that type's object size). The GC's own counter is printed as a check: its
// intervals are out of phase with the request counter's by up to a second, which on a loaded
// machine moved it by up to 9 % from the ticks.
// per-request-units divides once more (5000 for a batch of 5,000 samples); frames > 0 prints, for
// each of the top types, the first frames of the stacks that allocated it (its top sites stacks).
var path = args.Length > 0 ? args[0] : throw new ArgumentException("usage: <trace.nettrace> [per-request-units] [types] [frames] [sites]");
var units = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1;
var top = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 15;
var frames = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0;
var sites = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 3;

var etlx = TraceLog.CreateFromEventPipeDataFile(path);
using var log = new TraceLog(etlx);
var source = log.Events.GetSource();

var requests = new List<(double At, double Count)>();
var allocated = new List<(double At, double Bytes)>();
var ticks = new List<Tick>();

source.Dynamic.All += e =>
{
    // EventCounters: one field "Payload" holding { "Payload": { "Name": ..., "Mean"/"Increment": ... } }.
    if (e.EventName != "EventCounters" || e.PayloadValue(0) is not IDictionary<string, object> outer)
    {
        return;
    }

    var counter = outer.TryGetValue("Payload", out var inner) && inner is IDictionary<string, object> fields ? fields : outer;

    var name = counter.TryGetValue("Name", out var n) ? n as string : null;
    if (name == "requests-per-second" && counter.TryGetValue("Increment", out var handled))
    {
        requests.Add((e.TimeStampRelativeMSec, Convert.ToDouble(handled, CultureInfo.InvariantCulture)));
    }
    else if (name == "alloc-rate" && counter.TryGetValue("Increment", out var increment))
    {
        allocated.Add((e.TimeStampRelativeMSec, Convert.ToDouble(increment, CultureInfo.InvariantCulture)));
    }
};

source.Clr.GCAllocationTick += e =>
{
    ticks.Add(new Tick(e.TimeStampRelativeMSec, e.TypeName ?? "?", e.AllocationAmount64, e.ObjectSize, frames > 0 ? Frames(e, frames) : null));
};

source.Process();

if (requests.Count < 2)
{
    Console.Error.WriteLine("the trace has fewer than two requests-per-second counter events (was Microsoft.AspNetCore.Hosting enabled with EventCounterIntervalSec?)");
    return 1;
}

// The window: from the first to the last request counter event. Both counter groups report every
// second, a few milliseconds apart, each the increment over the interval that ends at the event; so
// the request increments after the first and the allocation increments inside the window cover the
// same span (to within that offset).
var from = requests[0].At;
var to = requests[^1].At;
var handled = requests.Skip(1).Sum(r => r.Count);
var exactBytes = allocated.Where(a => a.At > from && a.At <= to).Sum(a => a.Bytes);
var inWindow = ticks.Where(t => t.At > from && t.At <= to).ToList();
var tickBytes = inWindow.Sum(t => (double)t.Amount);
var perUnit = handled * units;

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT allocations window_s={(to - from) / 1000:F1} requests={handled:F0} bytes_per_unit={tickBytes / perUnit:F0} objects_per_unit~={inWindow.Sum(t => t.Amount / (double)Math.Max(t.Size, 1)) / perUnit:F1} counter_bytes_per_unit={exactBytes / perUnit:F0} units_per_request={units}"));
Console.WriteLine($"{"bytes/unit",11} {"objects/unit",13} {"share",6}  type");
foreach (var type in inWindow.GroupBy(t => t.Type).Select(g => (Type: g.Key, Bytes: g.Sum(t => (double)t.Amount), Objects: g.Sum(t => t.Amount / (double)Math.Max(t.Size, 1)), Ticks: g.ToList()))
             .OrderByDescending(g => g.Bytes).Take(top))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{type.Bytes / perUnit,11:F1} {type.Objects / perUnit,13:F2} {type.Bytes / tickBytes,6:P1}  {type.Type}"));
    if (frames > 0)
    {
        foreach (var site in type.Ticks.GroupBy(t => t.Stack).OrderByDescending(g => g.Sum(t => (double)t.Amount)).Take(sites))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"",33}{site.Sum(t => (double)t.Amount) / type.Bytes,5:P0} {site.Key}"));
        }
    }
}

return 0;

// The first frames of the allocating stack that are not the runtime's own (where the allocation
// happened in the service, the framework or Orleans), joined; the innermost frame first.
static string Frames(GCAllocationTickTraceData e, int count)
{
    var names = new List<string>(count);
    for (var frame = e.CallStack(); frame is not null && names.Count < count; frame = frame.Caller)
    {
        var method = frame.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(method) || method.StartsWith("System.Runtime.CompilerServices.", StringComparison.Ordinal))
        {
            continue;
        }

        names.Add(method.Length > 110 ? method[..110] : method);
    }

    return names.Count == 0 ? "(no stack)" : string.Join(" < ", names);
}

/// <summary>One AllocationTick: the bytes allocated on its heap since the last, and the object that crossed the mark.</summary>
internal sealed record Tick(double At, string Type, long Amount, long Size, string? Stack);
