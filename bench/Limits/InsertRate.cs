using System.Diagnostics;
using System.Globalization;

namespace HpcJobs.Bench.Limits;

/// <summary>
/// SQLite's own rate for the batch benchmark's rows: what bench/Bench's <c>batch</c> mode posts
/// (5,000 samples a request over 1,000 jobs, each sample a microsecond after the one before),
/// one request's samples per transaction unless told otherwise, written by <see cref="SampleWriter"/>
/// with nothing of the service around it. (The service's group commit may put several requests in
/// one transaction: it takes up to 4,096 writes, one per job of a request.)
/// </summary>
internal static class InsertRate
{
    private const int Jobs = 1000;
    private const int RequestSize = 5000;

    public static void Run(string path, SampleSchema schema, Options options)
    {
        var ids = Enumerable.Range(0, Jobs).Select(i => $"batch-{i}").ToArray();
        using var connection = SampleFile.Create(path, schema, options.SynchronousFull, Jobs, "batch-", options.TempStoreMemory);
        using var writer = new SampleWriter(connection, schema, ids, options.JobsUpdate, options.RowsPerStatement);

        var origin = (DateTimeOffset.UtcNow.AddSeconds(-60).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var size = options.TransactionSamples;
        var rows = new SampleRow[size];
        long batch = 0;
        void Next()
        {
            for (var i = 0; i < size; i++)
            {
                var n = (batch * size) + i;
                var inRequest = (int)(n % RequestSize);
                rows[i] = new SampleRow((int)(n % Jobs), origin + n, (inRequest % 100) + 0.5, 2048 + inRequest, inRequest % 90);
            }

            batch++;
        }

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < options.WarmUp)
        {
            Next();
            writer.Write(rows);
        }

        var times = new List<double>();
        long inserted = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var written = WrittenBytes();
        watch.Restart();
        while (watch.Elapsed < options.Duration)
        {
            Next();
            var started = Stopwatch.GetTimestamp();
            inserted += writer.Write(rows);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var seconds = watch.Elapsed.TotalSeconds;

        // On a shared machine the wall-clock rate is what this process got; per CPU-second (user +
        // system, fsync waits excluded) is closer to what the work costs.
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;

        // What the commits hand the kernel (WAL frames, and the checkpoints' copies into the file):
        // one page per B-tree page a transaction touches, however few of its rows changed.
        var writtenPerTransaction = (WrittenBytes() - written) / (double)times.Count;
        var offered = (long)times.Count * size;
        connection.Close();
        var megabytes = (new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0)) / 1048576.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT insert schema={schema.ToString().ToLowerInvariant()} jobs_update={(options.JobsUpdate ? "yes" : "no")} " +
            $"synchronous={(options.SynchronousFull ? "full" : "normal")} rows_per_statement={options.RowsPerStatement} " +
            $"temp_store={(options.TempStoreMemory ? "memory" : "default")} transaction_samples={size} samples_per_s={inserted / seconds:F0} " +
            $"samples_per_cpu_s={inserted / cpuSeconds:F0} cpu_share={cpuSeconds / seconds:F2} " +
            $"tx_p50_ms={Percentile(times, 50):F2} tx_p99_ms={Percentile(times, 99):F2} transactions={times.Count} " +
            $"written_kb_per_tx={writtenPerTransaction / 1024:F0} duplicates={offered - inserted} rows_total={batch * size} file_mb={megabytes:F0} seconds={seconds:F1}"));
    }

    /// <summary>Bytes this process has passed to write(2) and its kin so far (<c>wchar</c> of /proc/self/io).</summary>
    private static long WrittenBytes() =>
        long.Parse(File.ReadLines("/proc/self/io").First(l => l.StartsWith("wchar:", StringComparison.Ordinal)).AsSpan(6).Trim(), CultureInfo.InvariantCulture);

    internal static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(sorted.Count * percentile / 100.0) - 1, 0, sorted.Count - 1)];
    }
}
