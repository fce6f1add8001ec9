using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace HpcJobs.Bench;

/// <summary>
/// The body of one <c>POST /v1/metrics</c> of the batch load: <c>size</c> samples over <c>jobs</c>
/// jobs, each a microsecond after the one before it over the whole run (batch <c>b</c> holds samples
/// <c>b × size … b × size + size − 1</c>), so that no posted sample replays an earlier one.
/// Written straight as UTF-8 into pooled room and copied out at its exact size: the load generator
/// shares the two cores with the service, and building the body with strings cost it ~0.8 µs per sample.
/// </summary>
internal sealed class BatchBody(int jobs, int size, DateTime origin)
{
    private const int MaxSampleBytes = 192;

    public byte[] Build(long batch)
    {
        var scratch = ArrayPool<byte>.Shared.Rent((size * MaxSampleBytes) + 16);
        try
        {
            var span = scratch.AsSpan();
            var head = "{\"samples\":["u8;
            head.CopyTo(span);
            var n = head.Length;
            Span<byte> second = stackalloc byte[19];
            long secondTicks = -1;
            for (var i = 0; i < size; i++)
            {
                var sample = (batch * size) + i;
                var at = origin.AddTicks(sample * 10);
                Fits(Utf8.TryWrite(
                    span[n..],
                    CultureInfo.InvariantCulture,
                    $"{(i == 0 ? "" : ",")}{{\"job_id\":\"batch-{sample % jobs}\",\"cpu_usage\":{i % 100}.5,\"memory_usage_mb\":{2048 + i},\"gpu_usage\":{i % 90},\"timestamp\":\"",
                    out var written));
                n += written;

                // The timestamp's date and time of day are formatted once per second.
                var whole = at.Ticks - (at.Ticks % TimeSpan.TicksPerSecond);
                if (whole != secondTicks)
                {
                    secondTicks = whole;
                    new DateTime(whole, DateTimeKind.Utc).TryFormat(second, out _, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
                }

                second.CopyTo(span[n..]);
                n += second.Length;
                Fits(Utf8.TryWrite(span[n..], CultureInfo.InvariantCulture, $".{(at.Ticks - whole) / 10:D6}Z\"}}", out written));
                n += written;
            }

            "]}"u8.CopyTo(span[n..]);
            return span[..(n + 2)].ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static void Fits(bool written)
    {
        if (!written)
        {
            throw new InvalidOperationException($"a sample of the batch body took more than {MaxSampleBytes} bytes");
        }
    }

    /// <summary>The same body built with strings, as the load generator did before 2026-12-02: kept to check and compare against.</summary>
    public byte[] BuildWithStrings(long batch)
    {
        var text = new StringBuilder("{\"samples\":[");
        for (var i = 0; i < size; i++)
        {
            var at = origin.AddTicks(((batch * size) + i) * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            text.Append(i == 0 ? "" : ",").Append($$"""{"job_id":"batch-{{((batch * size) + i) % jobs}}","cpu_usage":{{i % 100}}.5,"memory_usage_mb":{{2048 + i}},"gpu_usage":{{i % 90}},"timestamp":"{{at}}"}""");
        }

        return Encoding.UTF8.GetBytes(text.Append("]}").ToString());
    }

    /// <summary>
    /// <c>batch-body &lt;jobs&gt; &lt;size&gt; &lt;batches&gt;</c>: what building the bodies costs the load
    /// generator, both ways, after checking that both give the same bytes.
    /// </summary>
    public static int Measure(int jobs, int size, int batches)
    {
        var body = new BatchBody(jobs, size, DateTime.UtcNow.AddSeconds(-60));
        for (var b = 0; b < 20; b++)
        {
            if (!body.Build(b).AsSpan().SequenceEqual(body.BuildWithStrings(b)))
            {
                Console.Error.WriteLine($"batch {b}: the two bodies differ");
                return 1;
            }
        }

        Time("utf8", body.Build);
        Time("strings", body.BuildWithStrings);
        return 0;

        void Time(string way, Func<long, byte[]> build)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            long bytes = 0;
            for (var b = 0; b < batches; b++)
            {
                bytes += build(b).Length;
            }

            var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var samples = (double)batches * size;
            Console.WriteLine(
                $"RESULT batch-body way={way} us_per_sample={watch.Elapsed.TotalMicroseconds / samples:F3} cpu_us_per_sample={used.TotalMicroseconds / samples:F3} bytes_per_sample={bytes / samples:F0}");
        }
    }
}
