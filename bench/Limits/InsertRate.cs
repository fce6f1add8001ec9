using System.Diagnostics;
using System.Globalization;

namespace HpcJobs.Bench.Limits;

/// <summary>
/// SQLite's own rate for the batch benchmark's rows: what bench/Bench's <c>batch</c> mode posts
/// (5,000 samples a request over 1,000 jobs, each sample a microsecond after the one before),
/// one request's samples per transaction, written by <see cref="SampleWriter"/> with nothing else
/// on the machine's cores but this loop.
/// </summary>
internal static class InsertRate
{
    private const int Jobs = 1000;
    private const int BatchSize = 5000;

    public static void Run(string path, SampleSchema schema, bool updateJobs, bool synchronousFull, TimeSpan warmUp, TimeSpan duration)
    {
        var ids = Enumerable.Range(0, Jobs).Select(i => $"batch-{i}").ToArray();
        using var connection = SampleFile.Create(path, schema, synchronousFull, Jobs, "batch-");
        using var writer = new SampleWriter(connection, schema, ids, updateJobs);

        var origin = (DateTimeOffset.UtcNow.AddSeconds(-60).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var rows = new SampleRow[BatchSize];
        long batch = 0;
        void Next()
        {
            for (var i = 0; i < BatchSize; i++)
            {
                var n = (batch * BatchSize) + i;
                rows[i] = new SampleRow((int)(n % Jobs), origin + n, (i % 100) + 0.5, 2048 + i, i % 90);
            }

            batch++;
        }

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < warmUp)
        {
            Next();
            writer.Write(rows);
        }

        var times = new List<double>();
        long inserted = 0;
        watch.Restart();
        while (watch.Elapsed < duration)
        {
            Next();
            var started = Stopwatch.GetTimestamp();
            inserted += writer.Write(rows);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var offered = (long)times.Count * BatchSize;
        connection.Close();
        var megabytes = (new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0)) / 1048576.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT insert schema={schema.ToString().ToLowerInvariant()} jobs_update={(updateJobs ? "yes" : "no")} " +
            $"synchronous={(synchronousFull ? "full" : "normal")} samples_per_s={inserted / seconds:F0} " +
            $"tx_p50_ms={Percentile(times, 50):F2} tx_p99_ms={Percentile(times, 99):F2} transactions={times.Count} " +
            $"duplicates={offered - inserted} rows_total={batch * BatchSize} file_mb={megabytes:F0} seconds={seconds:F1}"));
    }

    internal static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(sorted.Count * percentile / 100.0) - 1, 0, sorted.Count - 1)];
    }
}
