using System.Diagnostics;
using System.Globalization;

namespace HpcJobs.Bench.Limits;

/// <summary>
/// The durability floor: what one commit costs when it holds a single sample (with
/// <c>synchronous = FULL</c> in WAL mode, the WAL frames' write and one fsync), and, for
/// comparison, a bare 4 KiB append and fsync of a plain file in the same directory. No group commit
/// can commit more often than one per this time.
/// </summary>
internal static class CommitCost
{
    public static void Run(string path, SampleSchema schema, bool synchronousFull, int commits)
    {
        using (var connection = SampleFile.Create(path, schema, synchronousFull, 1, "batch-"))
        using (var writer = new SampleWriter(connection, schema, ["batch-0"], updateJobs: false))
        {
            var origin = (DateTimeOffset.UtcNow.AddSeconds(-60).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
            var row = new SampleRow[1];
            var commit = 0;
            var times = Measure(commits, () =>
            {
                row[0] = new SampleRow(0, origin + commit++, 50.5, 2048, 10);
                writer.Write(row);
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT commit schema={schema.ToString().ToLowerInvariant()} synchronous={(synchronousFull ? "full" : "normal")} " +
                $"p50_ms={InsertRate.Percentile(times, 50):F3} p99_ms={InsertRate.Percentile(times, 99):F3} commits={commits}"));
        }

        var plain = path + ".fsync";
        try
        {
            using var file = new FileStream(plain, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
            var page = new byte[4096];
            var times = Measure(commits, () =>
            {
                file.Write(page);
                file.Flush(flushToDisk: true);
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT fsync p50_ms={InsertRate.Percentile(times, 50):F3} p99_ms={InsertRate.Percentile(times, 99):F3} writes={commits}"));
        }
        finally
        {
            File.Delete(plain);
        }
    }

    /// <summary>Times <paramref name="count"/> calls of <paramref name="action"/> after a few untimed ones.</summary>
    private static List<double> Measure(int count, Action action)
    {
        for (var i = 0; i < 20; i++)
        {
            action();
        }

        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return times;
    }
}
