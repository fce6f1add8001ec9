using HpcJobs.Bench.Limits;

// The write path's physical limits on this machine, to put the service's figures against
// (bench/limits.sh runs them all; docs/benchmarks.md "Goals missed, and what bounds them"):
//   insert <file> <current|keyed> [--jobs-update] [--synchronous full|normal] [--warmup s] [--seconds s]
//          [--transaction-samples n] [--rows-per-statement n] [--temp-store memory]
//       SQLite's own insert rate for the rows the batch benchmark sends, 5,000 (one request's) per
//       transaction by default, into a fresh file (the last two options depart from the service's
//       writer: 64 rows a statement, temp_store default)
//   commit <file> <current|keyed> [--commits n] [--synchronous full|normal]
//       one 1-row transaction's commit (with synchronous=full, a WAL write and fsync), and a bare 4 KiB write + fsync
//   pg <connection-string> <copy|copy-partition|unnest> [--schema-dir sql/postgres] [--jobs-update]
//          [--synchronous full|normal] [--warmup s] [--seconds s] [--transaction-samples n]
//       PostgreSQL's own insert rate for the same rows into the service's schema (an empty database:
//       the scripts 010 onwards are applied), one connection, 5,000 rows per transaction; normal is
//       synchronous_commit = off
if (args.Length < 3)
{
    Console.Error.WriteLine("see the comment at the top of bench/Limits/Program.cs for usage");
    return 2;
}

var options = Options.Parse(args.AsSpan(3));
if (args[0] == "pg")
{
    var load = args[2] switch
    {
        "copy" => PostgresLoad.Copy,
        "copy-partition" => PostgresLoad.CopyPartition,
        "unnest" => PostgresLoad.Unnest,
        var other => throw new ArgumentException($"load must be copy, copy-partition or unnest, not '{other}'"),
    };
    PostgresInsertRate.Run(args[1], options.SchemaDirectory, load, options);
    return 0;
}

var schema = SampleFile.ParseSchema(args[2]);
switch (args[0])
{
    case "insert":
        InsertRate.Run(args[1], schema, options);
        return 0;
    case "commit":
        CommitCost.Run(args[1], schema, options.SynchronousFull, options.Commits);
        return 0;
    default:
        Console.Error.WriteLine($"unknown command {args[0]}");
        return 2;
}

namespace HpcJobs.Bench.Limits
{
    internal sealed record Options(
        bool JobsUpdate, bool SynchronousFull, TimeSpan WarmUp, TimeSpan Duration, int Commits, int TransactionSamples, int RowsPerStatement, bool TempStoreMemory,
        string SchemaDirectory)
    {
        public static Options Parse(ReadOnlySpan<string> args)
        {
            var options = new Options(
                JobsUpdate: false,
                SynchronousFull: true,
                WarmUp: TimeSpan.FromSeconds(5),
                Duration: TimeSpan.FromSeconds(15),
                Commits: 1000,
                TransactionSamples: 5000,
                RowsPerStatement: SampleWriter.DefaultRowsPerStatement,
                TempStoreMemory: false,
                SchemaDirectory: "sql/postgres");
            for (var i = 0; i < args.Length; i++)
            {
                options = args[i] switch
                {
                    "--jobs-update" => options with { JobsUpdate = true },
                    "--synchronous" => options with { SynchronousFull = Value(args, ++i) switch
                    {
                        "full" => true,
                        "normal" => false,
                        var other => throw new ArgumentException($"--synchronous must be 'full' or 'normal', not '{other}'"),
                    } },
                    "--warmup" => options with { WarmUp = TimeSpan.FromSeconds(double.Parse(Value(args, ++i))) },
                    "--seconds" => options with { Duration = TimeSpan.FromSeconds(double.Parse(Value(args, ++i))) },
                    "--commits" => options with { Commits = int.Parse(Value(args, ++i)) },
                    "--transaction-samples" => options with { TransactionSamples = int.Parse(Value(args, ++i)) },
                    "--rows-per-statement" => options with { RowsPerStatement = int.Parse(Value(args, ++i)) },
                    "--schema-dir" => options with { SchemaDirectory = Value(args, ++i) },
                    "--temp-store" => options with { TempStoreMemory = Value(args, ++i) == "memory" ? true : throw new ArgumentException("--temp-store takes only 'memory'") },
                    var other => throw new ArgumentException($"unknown option {other}"),
                };
            }

            return options;
        }

        private static string Value(ReadOnlySpan<string> args, int i) =>
            i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
    }
}
