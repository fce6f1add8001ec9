using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Bench.Limits;

/// <summary>How <see cref="PostgresInsertRate"/> hands PostgreSQL the rows.</summary>
internal enum PostgresLoad
{
    /// <summary>Binary COPY into the partitioned table (routed to the day's partition by the server).</summary>
    Copy,

    /// <summary>Binary COPY into the day's partition itself (no routing).</summary>
    CopyPartition,

    /// <summary><c>INSERT ... SELECT FROM unnest($1, ...) ON CONFLICT DO NOTHING</c> into the partitioned table, as the writer does minus its duplicate report.</summary>
    Unnest,
}

/// <summary>
/// PostgreSQL's own rate for the batch benchmark's rows: what bench/Bench's <c>batch</c> mode posts
/// (5,000 samples a request over 1,000 jobs, each sample a microsecond after the one before) into
/// the service's schema (the sql/postgres scripts 010 onwards of the tree it is given: the day-
/// partitioned samples table with its unique key and ts index, the jobs table with its indexes and
/// triggers), one request's samples per transaction, from one connection as the service's one
/// writer, with nothing of the service around it. With <c>--jobs-update</c> each transaction also
/// sets the latest usage of the 1,000 jobs rows it touched (one set-based UPDATE from arrays, by id,
/// as the writer does). Commits are durable (the server's <c>synchronous_commit</c>) unless told otherwise.
/// Prints rows/s and CPU microseconds per row of the server backend, of the whole server (from
/// /proc, so the client must run on the server's machine) and of this process.
/// </summary>
internal static class PostgresInsertRate
{
    private const int Jobs = 1000;
    private const int RequestSize = 5000;

    private const string Columns = "job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills";

    public static void Run(string connectionString, string schemaDirectory, PostgresLoad load, Options options)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        var (ids, keys) = PostgresBenchJobs.Create(connection, schemaDirectory, "batch-", Jobs);

        if (!options.SynchronousFull)
        {
            Execute(connection, "SET synchronous_commit = off");
        }

        var backend = (int)Scalar(connection, "SELECT pg_backend_pid()");
        var origin = DateTimeOffset.UtcNow.AddSeconds(-60);
        var partition = $"samples_p{origin.UtcDateTime:yyyyMMdd}";
        var size = options.TransactionSamples;
        var jobKey = new long[size];
        var ts = new DateTimeOffset[size];
        var cpu = new double[size];
        var mem = new long[size];
        var gpu = new double?[size];
        long batch = 0;
        void Next()
        {
            for (var i = 0; i < size; i++)
            {
                var n = (batch * size) + i;
                var inRequest = (int)(n % RequestSize);
                jobKey[i] = keys[n % Jobs];
                ts[i] = origin.AddTicks(n * 10);
                cpu[i] = (inRequest % 100) + 0.5;
                mem[i] = 2048 + inRequest;
                gpu[i] = inRequest % 90;
            }

            batch++;
        }

        // The latest sample per job of the batch (its last: timestamps rise), as the writer's stage keeps it.
        var latest = new int[Jobs];
        void Write()
        {
            using var transaction = connection.BeginTransaction();
            if (load == PostgresLoad.Unnest)
            {
                using var command = new NpgsqlCommand(
                    $"INSERT INTO samples ({Columns}) " +
                    "SELECT job_key, ts, 0, cpu, mem, gpu, NULL, NULL, NULL FROM unnest($1::int8[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[]) " +
                    "AS u(job_key, ts, cpu, mem, gpu) ON CONFLICT DO NOTHING",
                    connection, transaction);
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = jobKey });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = ts });
                command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = cpu });
                command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = mem });
                command.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = gpu });
                command.ExecuteNonQuery();
            }
            else
            {
                var table = load == PostgresLoad.CopyPartition ? partition : "samples";
                using var importer = connection.BeginBinaryImport($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)");
                for (var i = 0; i < size; i++)
                {
                    importer.StartRow();
                    importer.Write(jobKey[i], NpgsqlDbType.Bigint);
                    importer.Write(ts[i], NpgsqlDbType.TimestampTz);
                    importer.Write(0, NpgsqlDbType.Integer);
                    importer.Write(cpu[i], NpgsqlDbType.Double);
                    importer.Write(mem[i], NpgsqlDbType.Bigint);
                    importer.Write(gpu[i]!.Value, NpgsqlDbType.Double);
                    importer.WriteNull();
                    importer.WriteNull();
                    importer.WriteNull();
                }

                importer.Complete();
            }

            if (options.JobsUpdate)
            {
                Array.Fill(latest, -1);
                for (var i = 0; i < size; i++)
                {
                    latest[(int)(((batch - 1) * size + i) % Jobs)] = i;
                }

                var touched = Enumerable.Range(0, Jobs).Where(j => latest[j] >= 0).ToArray();
                using var update = new NpgsqlCommand(
                    """
                    UPDATE jobs AS j
                    SET cpu_usage = u.cpu, memory_usage_mb = u.mem, gpu_usage = u.gpu, last_sample_time = u.ts
                    FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[]) AS u(id, ts, cpu, mem, gpu)
                    WHERE j.id = u.id
                    """,
                    connection, transaction);
                update.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. touched.Select(j => ids[j])] });
                update.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. touched.Select(j => ts[latest[j]])] });
                update.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. touched.Select(j => cpu[latest[j]])] });
                update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. touched.Select(j => mem[latest[j]])] });
                update.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. touched.Select(j => gpu[latest[j]])] });
                update.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < options.WarmUp)
        {
            Next();
            Write();
        }

        var times = new List<double>();
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var backendCpu = BackendCpuSeconds(backend);
        var serverCpu = ServerCpuSeconds(backend);
        var wal = (string)Scalar(connection, "SELECT pg_current_wal_lsn()::text");
        watch.Restart();
        while (watch.Elapsed < options.Duration)
        {
            Next();
            var started = Stopwatch.GetTimestamp();
            Write();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var clientSeconds = (Process.GetCurrentProcess().TotalProcessorTime - clientCpu).TotalSeconds;
        var backendSeconds = BackendCpuSeconds(backend) - backendCpu;
        var serverSeconds = ServerCpuSeconds(backend) - serverCpu;
        var rows = (double)times.Count * size;
        var walBytes = Convert.ToDouble(Scalar(connection, $"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal}')"), CultureInfo.InvariantCulture);
        var stored = Convert.ToInt64(Scalar(connection, "SELECT count(*) FROM samples"), CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT pg_insert load={load.ToString().ToLowerInvariant()} jobs_update={(options.JobsUpdate ? "yes" : "no")} " +
            $"synchronous_commit={(options.SynchronousFull ? "server" : "off")} transaction_samples={size} rows_per_s={rows / seconds:F0} " +
            $"backend_cpu_us_per_row={backendSeconds / rows * 1e6:F2} server_cpu_us_per_row={serverSeconds / rows * 1e6:F2} " +
            $"client_cpu_us_per_row={clientSeconds / rows * 1e6:F2} backend_cpu_share={backendSeconds / seconds:F2} " +
            $"rows_per_server_cpu_s={rows / serverSeconds:F0} wal_bytes_per_row={walBytes / rows:F0} " +
            $"tx_p50_ms={InsertRate.Percentile(times, 50):F2} tx_p99_ms={InsertRate.Percentile(times, 99):F2} transactions={times.Count} " +
            $"stored={stored} seconds={seconds:F1}"));
    }

    private static void Execute(NpgsqlConnection connection, string sql) => PostgresBenchJobs.Execute(connection, sql);

    private static object Scalar(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar()!;
    }

    /// <summary>User + system CPU seconds of a server backend so far (fields 14 and 15 of /proc/&lt;pid&gt;/stat).</summary>
    private static double BackendCpuSeconds(int pid) => Ticks(Stat(pid)!, children: false) / 100.0;

    /// <summary>
    /// CPU seconds of the whole server so far: the postmaster with the children it has reaped
    /// (autovacuum workers, exited backends) and every live child (this backend, WAL writer,
    /// checkpointer, ...), as bench/pg-ab.sh counts the service's PostgreSQL.
    /// </summary>
    private static double ServerCpuSeconds(int backend)
    {
        var postmaster = int.Parse(Stat(backend)![1], CultureInfo.InvariantCulture);
        long ticks = Ticks(Stat(postmaster)!, children: true);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && Stat(pid) is { } stat && stat[1] == postmaster.ToString(CultureInfo.InvariantCulture))
            {
                ticks += Ticks(stat, children: false);
            }
        }

        return ticks / 100.0;
    }

    /// <summary>The fields of /proc/&lt;pid&gt;/stat after the command name (state first), or null once the process is gone.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static long Ticks(string[] fields, bool children) =>
        long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture) +
        (children ? long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture) : 0);
}
