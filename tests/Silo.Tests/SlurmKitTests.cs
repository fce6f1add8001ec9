using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// One real service process (SQLite, a write token required) shared by the Slurm kit tests; each
/// test uses its own job ids.
/// </summary>
public sealed class SlurmKitService : IAsyncLifetime
{
    public const string Token = "kit-write-token-0123456789";

    private readonly SqliteBackend _backend = new();

    public ServiceProcess Service { get; private set; } = null!;

    public string Url => $"http://127.0.0.1:{Service.Port}";

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>(await _backend.CreateDatabaseAsync())
        {
            ["API_WRITE_TOKENS"] = Token,
        };
        Service = await ServiceProcess.StartAsync(settings);
        Service.Client.DefaultRequestHeaders.Authorization = new("Bearer", Token);
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await _backend.DisposeAsync();
    }
}

/// <summary>
/// contrib/slurm/prolog.sh and epilog.sh run by real bash, with the environment slurmd gives a
/// node Prolog/Epilog (Slurm 26.05 names, contrib/slurm/README.md), against the real service.
/// </summary>
public sealed partial class SlurmKitTests(SlurmKitService fixture) : IClassFixture<SlurmKitService>, IDisposable
{
    private readonly SlurmHook _hook = CreateHook(fixture.Url);

    private HttpClient Client => fixture.Service.Client;

    public void Dispose() => _hook.Dispose();

    [Fact]
    public async Task NormalJob_RunsAfterPrologWithItsAllocation_AndCompletesAfterEpilog()
    {
        var id = NewJobId();
        var cgroup = Path.Combine(_hook.Root, "cgroup", "system.slice", "slurmstepd.scope", $"job_{id}");
        Directory.CreateDirectory(cgroup);
        File.WriteAllText(Path.Combine(cgroup, "memory.max"), $"{16L * 1024 * 1024 * 1024}\n");
        Directory.CreateDirectory(Path.Combine(_hook.Root, "dev"));
        File.WriteAllText(Path.Combine(_hook.Root, "dev", "nvidiactl"), "");
        var prolog = Prolog(id);
        prolog["SLURM_JOB_GPUS"] = "0,1";
        prolog["HPC_JOBS_CGROUP_ROOT"] = Path.Combine(_hook.Root, "cgroup");
        prolog["HPC_JOBS_DEV_DIR"] = Path.Combine(_hook.Root, "dev");

        var started = await _hook.RunAsync("prolog.sh", prolog);

        AssertQuietSuccess(started);
        var job = await GetJobAsync(id);
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal("alice", job.GetProperty("user").GetString());
        Assert.Equal(["kn01", "kn02"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(StartTime(prolog), job.GetProperty("start_time").GetDateTimeOffset());
        Assert.Equal(8, job.GetProperty("allocated_cpus").GetInt32());
        Assert.Equal(16384, job.GetProperty("allocated_memory_mb").GetInt64());
        Assert.Equal(4, job.GetProperty("allocated_gpus").GetInt32());
        Assert.Equal("nvidia", job.GetProperty("gpu_vendor").GetString());
        Assert.Equal(["0", "1"], job.GetProperty("gpu_devices").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal($"/system.slice/slurmstepd.scope/job_{id}", job.GetProperty("cgroup_path").GetString());
        Assert.Equal("kit", job.GetProperty("cluster").GetString());
        Assert.Equal(1, job.GetProperty("attempt").GetInt32());
        var scheduler = job.GetProperty("scheduler");
        Assert.Equal("batch", scheduler.GetProperty("partition").GetString());
        Assert.Equal("physics", scheduler.GetProperty("account").GetString());
        Assert.Equal("normal", scheduler.GetProperty("qos").GetString());
        Assert.Equal(120, scheduler.GetProperty("time_limit_minutes").GetInt32());

        var finished = await _hook.RunAsync("epilog.sh", Epilog(id, status: 0, exit: "0:0"));

        AssertQuietSuccess(finished);
        job = await GetJobAsync(id);
        Assert.Equal("completed", job.GetProperty("state").GetString());
        Assert.Equal(0, job.GetProperty("scheduler").GetProperty("exit_code").GetInt32());
        var audit = await AuditAsync(id);
        Assert.Equal(["created", "transition"], audit.Select(e => e.GetProperty("change").GetString()));
        Assert.Equal(["prolog", "epilog"], audit.Select(e => e.GetProperty("source").GetString()));
        Assert.Equal(["slurm-prolog@kn01", "slurm-epilog@kn01"], audit.Select(e => e.GetProperty("changed_by").GetString()));
        Assert.All(audit, e => Assert.Equal($"kit-{id}-0", e.GetProperty("correlation_id").GetString()));
    }

    [Fact]
    public async Task CancelledJob_EndsCancelled_WithSignal15()
    {
        var id = NewJobId();
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", Prolog(id)));

        // scancel: SIGTERM; the wait status of a process killed by signal 15 is 15.
        AssertQuietSuccess(await _hook.RunAsync("epilog.sh", Epilog(id, status: 15, exit: "0:15")));

        var job = await GetJobAsync(id);
        Assert.Equal("cancelled", job.GetProperty("state").GetString());
        Assert.Equal(15, job.GetProperty("scheduler").GetProperty("signal").GetInt32());
    }

    [Fact]
    public async Task FailedJob_EndsFailed_WithItsExitCode()
    {
        var id = NewJobId();
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", Prolog(id)));

        // exit 3: wait status 3 << 8.
        AssertQuietSuccess(await _hook.RunAsync("epilog.sh", Epilog(id, status: 768, exit: "3:0")));

        var job = await GetJobAsync(id);
        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Equal(3, job.GetProperty("scheduler").GetProperty("exit_code").GetInt32());
    }

    /// <summary>
    /// SLURM_JOB_EXIT_CODE is the raw wait(2) status; without SLURM_JOB_EXIT_CODE2 (given since
    /// 22.05 alongside it) the epilog decodes exit code and signal from it itself.
    /// </summary>
    [Theory]
    [InlineData(768, null, "failed", 3, 0)]
    [InlineData(15, null, "cancelled", 0, 15)]
    [InlineData(9, "0:9", "cancelled", 0, 9)]
    [InlineData(0, null, "completed", 0, 0)]
    public async Task ExitStatus_IsDecoded_FromTheWaitStatusWhenNeeded(int status, string? exit, string state, int exitCode, int signal)
    {
        var id = NewJobId();
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", Prolog(id)));
        var epilog = Epilog(id, status, exit ?? "");
        if (exit is null)
        {
            epilog.Remove("SLURM_JOB_EXIT_CODE2");
        }

        AssertQuietSuccess(await _hook.RunAsync("epilog.sh", epilog));

        var job = await GetJobAsync(id);
        Assert.Equal(state, job.GetProperty("state").GetString());
        Assert.Equal(exitCode, job.GetProperty("scheduler").GetProperty("exit_code").GetInt32());
        Assert.Equal(signal, job.GetProperty("scheduler").GetProperty("signal").GetInt32());
    }

    [Fact]
    public async Task OomJob_EndsFailed_WithRawStateOutOfMemory()
    {
        var id = NewJobId();
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", Prolog(id)));

        // Slurm stores SIG_OOM (253) as the job's status; sacct shows it as 0:125, OUT_OF_MEMORY.
        AssertQuietSuccess(await _hook.RunAsync("epilog.sh", Epilog(id, status: 253, exit: "0:125")));

        var job = await GetJobAsync(id);
        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Equal("OUT_OF_MEMORY", job.GetProperty("scheduler").GetProperty("raw_state").GetString());
    }

    [Fact]
    public async Task RequeuedJob_StartsSecondAttempt_KeepingTheFirst()
    {
        var id = NewJobId();
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", Prolog(id)));
        AssertQuietSuccess(await _hook.RunAsync("epilog.sh", Epilog(id, status: 9, exit: "0:9")));
        Assert.Equal("cancelled", (await GetJobAsync(id)).GetProperty("state").GetString());

        var second = Prolog(id, restartCount: 1);
        second["SLURM_JOB_START_TIME"] = ToEpoch(DateTimeOffset.UtcNow.AddSeconds(-5));
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", second));

        var job = await GetJobAsync(id);
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal(2, job.GetProperty("attempt").GetInt32());
        Assert.Equal(StartTime(second), job.GetProperty("start_time").GetDateTimeOffset());
        var first = Assert.Single(job.GetProperty("attempts").EnumerateArray());
        Assert.Equal(1, first.GetProperty("attempt").GetInt32());
        Assert.Equal("cancelled", first.GetProperty("state").GetString());

        AssertQuietSuccess(await _hook.RunAsync("epilog.sh", Epilog(id, status: 0, exit: "0:0", restartCount: 1)));
        job = await GetJobAsync(id);
        Assert.Equal("completed", job.GetProperty("state").GetString());
        Assert.Equal(2, job.GetProperty("attempt").GetInt32());
        Assert.Contains("requeue", (await AuditAsync(id)).Select(e => e.GetProperty("change").GetString()));
    }

    [Fact]
    public async Task ServiceDown_PrologSpoolsAndExitsZeroFast_ThenNextRunDeliversSpooledEventsFirst()
    {
        var id = NewJobId();
        var later = NewJobId();
        _hook.WriteDefaults($"http://127.0.0.1:{ClosedPort()}", SlurmKitService.Token);
        var prolog = Prolog(id);

        var down = await _hook.RunAsync("prolog.sh", prolog);

        Assert.Equal(0, down.ExitCode);
        Assert.True(down.Elapsed < TimeSpan.FromSeconds(10), $"the prolog took {down.Elapsed} with the service down");
        var spooled = Assert.Single(_hook.SpoolFiles);
        Assert.Matches(SpoolName(), spooled);
        Assert.EndsWith(".started.json", spooled, StringComparison.Ordinal);
        var body = JsonDocument.Parse(File.ReadAllText(Path.Combine(_hook.SpoolDirectory, spooled))).RootElement;
        Assert.Equal(id, body.GetProperty("job_id").GetString());
        var line = Assert.Single(down.Syslog);
        Assert.Contains("-t hpc-jobs", line, StringComparison.Ordinal);
        Assert.Contains($"prolog job {id}", line, StringComparison.Ordinal);
        Assert.Contains("spooled", line, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/v1/jobs/{id}")).StatusCode);

        // Still down when the job ends: the epilog queues behind the spooled job-started.
        var epilogDown = await _hook.RunAsync("epilog.sh", Epilog(id, status: 0, exit: "0:0"));
        Assert.Equal(0, epilogDown.ExitCode);
        Assert.True(epilogDown.Elapsed < TimeSpan.FromSeconds(10), $"the epilog took {epilogDown.Elapsed}");
        Assert.Equal(2, _hook.SpoolFiles.Count);
        Assert.EndsWith(".finished.json", _hook.SpoolFiles[1], StringComparison.Ordinal);

        // Back up: the next job's prolog sends the spool oldest first, then its own event. Were
        // job-finished sent first, the service would answer 404 and the flush would drop it.
        _hook.WriteDefaults(fixture.Url, SlurmKitService.Token);
        var up = await _hook.RunAsync("prolog.sh", Prolog(later));

        AssertQuietSuccess(up);
        Assert.Empty(_hook.SpoolFiles);
        var job = await GetJobAsync(id);
        Assert.Equal("completed", job.GetProperty("state").GetString());
        Assert.Equal(StartTime(prolog), job.GetProperty("start_time").GetDateTimeOffset());
        Assert.Equal("running", (await GetJobAsync(later)).GetProperty("state").GetString());
        Assert.Equal(["created", "transition"], (await AuditAsync(id)).Select(e => e.GetProperty("change").GetString()));
    }

    [Fact]
    public async Task Flush_DeletesASpooledEventTheServiceRefuses_AndDeliversTheRest()
    {
        var id = NewJobId();
        Directory.CreateDirectory(_hook.SpoolDirectory);
        // Older than anything the scripts write, and not an event the service can accept.
        File.WriteAllText(Path.Combine(_hook.SpoolDirectory, "1000000000000000000-1.started.json"), """{"job_id":"x"}""");

        var run = await _hook.RunAsync("prolog.sh", Prolog(id));

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(_hook.SpoolFiles);
        Assert.Contains("refused (400), deleted", Assert.Single(run.Syslog), StringComparison.Ordinal);
        Assert.Equal("running", (await GetJobAsync(id)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task LostProlog_EpilogBackfillsStartedThenFinished()
    {
        var id = NewJobId();
        var epilog = Epilog(id, status: 0, exit: "0:0");

        var run = await _hook.RunAsync("epilog.sh", epilog);

        AssertQuietSuccess(run);
        var job = await GetJobAsync(id);
        Assert.Equal("completed", job.GetProperty("state").GetString());
        Assert.Equal(["kn01", "kn02"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(StartTime(epilog), job.GetProperty("start_time").GetDateTimeOffset());
        Assert.Equal(8, job.GetProperty("allocated_cpus").GetInt32());
        var audit = await AuditAsync(id);
        Assert.Equal(["created", "transition"], audit.Select(e => e.GetProperty("change").GetString()));
        Assert.All(audit, e => Assert.Equal("epilog", e.GetProperty("source").GetString()));
    }

    [Fact]
    public async Task OtherNodesOfTheJob_SendNothing()
    {
        var id = NewJobId();
        var prolog = Prolog(id);
        prolog["SLURMD_NODENAME"] = "kn02";

        var run = await _hook.RunAsync("prolog.sh", prolog);

        AssertQuietSuccess(run);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/v1/jobs/{id}")).StatusCode);
    }

    [Fact]
    public async Task JsonEscaping_KeepsQuotesBackslashesControlCharactersAndUnicode()
    {
        var id = NewJobId();
        const string user = "o'neil \"q\" back\\slash\ttab\nline\u0001ctl\u001fus\u007fdel é ☃";
        var prolog = Prolog(id);
        prolog["SLURM_JOB_USER"] = user;
        prolog["SLURM_JOB_ACCOUNT"] = "acct\\\"";

        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", prolog));

        var job = await GetJobAsync(id);
        Assert.Equal(user, job.GetProperty("user").GetString());
        Assert.Equal("acct\\\"", job.GetProperty("scheduler").GetProperty("account").GetString());
    }

    [Fact]
    public async Task WrongToken_IsRefusedNotSpooled_AndMissingSettingsStillExitZero()
    {
        var id = NewJobId();
        _hook.WriteDefaults(fixture.Url, "not-the-token");

        var refused = await _hook.RunAsync("prolog.sh", Prolog(id));

        Assert.Equal(0, refused.ExitCode);
        Assert.Contains("started event refused with 401", Assert.Single(refused.Syslog), StringComparison.Ordinal);
        Assert.Empty(_hook.SpoolFiles);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/v1/jobs/{id}")).StatusCode);

        File.Delete(_hook.DefaultsFile);
        var unconfigured = await _hook.RunAsync("prolog.sh", Prolog(NewJobId()));

        Assert.Equal(0, unconfigured.ExitCode);
        Assert.Contains("HPC_JOBS_URL not set", Assert.Single(unconfigured.Syslog), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_OverridesTheDefaultsFile()
    {
        var id = NewJobId();
        _hook.WriteDefaults($"http://127.0.0.1:{ClosedPort()}", SlurmKitService.Token);
        var prolog = Prolog(id);
        prolog["HPC_JOBS_URL"] = fixture.Url;

        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", prolog));

        Assert.Equal("running", (await GetJobAsync(id)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Report_IsPrintedWhenAsked()
    {
        var id = NewJobId();
        AssertQuietSuccess(await _hook.RunAsync("prolog.sh", Prolog(id)));
        var epilog = Epilog(id, status: 0, exit: "0:0");
        epilog["HPC_JOBS_REPORT"] = "1";

        var run = await _hook.RunAsync("epilog.sh", epilog);

        AssertQuietSuccess(run);
        using var report = await Client.GetAsync($"/v1/jobs/{id}/report");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        var text = await report.Content.ReadAsStringAsync();
        Assert.StartsWith($"Efficiency report for job {id} (attempt 1)", text, StringComparison.Ordinal);
        Assert.Equal(text.Trim(), run.Stdout.Trim());
    }

    [Fact]
    public async Task InternalError_StillExitsZero_WithASyslogLine()
    {
        // A spool path that cannot be a directory makes the scripts' own writes fail.
        var blocker = Path.Combine(_hook.Root, "file-not-dir");
        File.WriteAllText(blocker, "");
        _hook.WriteDefaults($"http://127.0.0.1:{ClosedPort()}", SlurmKitService.Token);
        var prolog = Prolog(NewJobId());
        prolog["HPC_JOBS_SPOOL_DIR"] = Path.Combine(blocker, "spool");

        var run = await _hook.RunAsync("prolog.sh", prolog);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("event lost", Assert.Single(run.Syslog), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prolog.sh")]
    [InlineData("epilog.sh")]
    public async Task BugInTheKit_StillExitsZero_WithASyslogLine(string script)
    {
        // The real script, beside a common file whose start trips over an unset variable (set -u).
        var kit = Directory.CreateDirectory(Path.Combine(_hook.Root, "broken-kit")).FullName;
        File.Copy(Path.Combine(SlurmHook.KitDirectory, script), Path.Combine(kit, script));
        File.WriteAllText(Path.Combine(kit, "hpc-jobs-common.sh"), $$"""
            source '{{Path.Combine(SlurmHook.KitDirectory, "hpc-jobs-common.sh")}}'
            hpc_begin() { : "$no_such_variable"; }
            """);

        var run = await _hook.RunAsync(Path.Combine(kit, script), Prolog(NewJobId()));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("internal error (status 1)", Assert.Single(run.Syslog), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prolog.sh")]
    [InlineData("epilog.sh")]
    public async Task MissingCommonFile_StillExitsZero_WithASyslogLine(string script)
    {
        var kit = Directory.CreateDirectory(Path.Combine(_hook.Root, "incomplete-kit")).FullName;
        File.Copy(Path.Combine(SlurmHook.KitDirectory, script), Path.Combine(kit, script));

        var run = await _hook.RunAsync(Path.Combine(kit, script), Prolog(NewJobId()));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("hpc-jobs-common.sh missing", Assert.Single(run.Syslog), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Scripts_PassShellcheck()
    {
        var shellcheck = new[] { "/usr/bin/shellcheck", "/usr/local/bin/shellcheck", "/bin/shellcheck" }.FirstOrDefault(File.Exists);
        if (shellcheck is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("REQUIRE_SHELLCHECK") == "1", "REQUIRE_SHELLCHECK=1 but shellcheck is not installed");
            Skip.If(true, "shellcheck not installed (apt-get install shellcheck); REQUIRE_SHELLCHECK=1 makes this a failure");
        }

        var start = new ProcessStartInfo(shellcheck!, ["--external-sources", "prolog.sh", "epilog.sh", "hpc-jobs-common.sh"])
        {
            WorkingDirectory = SlurmHook.KitDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, output);
    }

    private static SlurmHook CreateHook(string url)
    {
        var hook = SlurmHook.Create();
        hook.WriteDefaults(url, SlurmKitService.Token);
        return hook;
    }

    /// <summary>Exit 0, nothing on stderr, no syslog line: the event was delivered.</summary>
    private static void AssertQuietSuccess(HookRun run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.True(run.Stderr.Length == 0, run.Stderr);
        Assert.True(run.Syslog.Count == 0, string.Join("\n", run.Syslog));
    }

    /// <summary>What slurmd puts in a node Prolog's environment (src/plugins/prep/script/prep_script_slurmd.c).</summary>
    private static Dictionary<string, string> Prolog(string id, int restartCount = 0)
    {
        var start = DateTimeOffset.UtcNow.AddSeconds(-60);
        return new Dictionary<string, string>
        {
            ["SLURM_SCRIPT_CONTEXT"] = "prolog_slurmd",
            ["SLURMD_NODENAME"] = "kn01",
            ["SLURM_CLUSTER_NAME"] = "kit",
            ["SLURM_CONF"] = "/etc/slurm/slurm.conf",
            ["SLURM_JOB_ID"] = id,
            ["SLURM_JOBID"] = id,
            ["SLURM_JOB_UID"] = "1000",
            ["SLURM_JOB_GID"] = "1000",
            ["SLURM_UID"] = "1000",
            ["SLURM_JOB_USER"] = "alice",
            ["SLURM_JOB_WORK_DIR"] = "/home/alice",
            ["SLURM_NODELIST"] = "kn[01-02]",
            ["SLURM_JOB_NODELIST"] = "kn[01-02]",
            ["SLURM_JOB_NUM_NODES"] = "2",
            ["SLURM_JOB_CPUS_PER_NODE"] = "4(x2)",
            ["SLURM_JOB_NTASKS"] = "8",
            ["SLURM_JOB_PARTITION"] = "batch",
            ["SLURM_JOB_ACCOUNT"] = "physics",
            ["SLURM_JOB_QOS"] = "normal",
            ["SLURM_JOB_RESTART_COUNT"] = restartCount.ToString(),
            ["SLURM_JOB_START_TIME"] = ToEpoch(start),
            ["SLURM_JOB_END_TIME"] = ToEpoch(start.AddHours(2)),
            ["SLURM_JOB_OVERSUBSCRIBE"] = "NO",
            ["SLURM_JOB_STDOUT"] = "/home/alice/slurm-%j.out",
        };
    }

    /// <summary>The Prolog's variables plus what only the Epilog gets: the job's wait status, its exit:signal pair.</summary>
    private static Dictionary<string, string> Epilog(string id, int status, string exit, int restartCount = 0)
    {
        var epilog = Prolog(id, restartCount);
        epilog["SLURM_SCRIPT_CONTEXT"] = "epilog_slurmd";
        epilog["SLURM_JOB_EXIT_CODE"] = status.ToString();
        epilog["SLURM_JOB_EXIT_CODE2"] = exit;
        epilog["SLURM_JOB_DERIVED_EC"] = "0";
        return epilog;
    }

    private static DateTimeOffset StartTime(Dictionary<string, string> environment) =>
        DateTimeOffset.FromUnixTimeSeconds(long.Parse(environment["SLURM_JOB_START_TIME"]));

    private static string ToEpoch(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString();

    private static string NewJobId() => Random.Shared.Next(10_000_000, 99_999_999).ToString();

    /// <summary>A loopback port with nothing listening (bound, then released).</summary>
    private static int ClosedPort() => FreePort.Next();

    private async Task<JsonElement> GetJobAsync(string id)
    {
        using var response = await Client.GetAsync($"/v1/jobs/{id}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /v1/jobs/{id}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement[]> AuditAsync(string id)
    {
        using var response = await Client.GetAsync($"/v1/jobs/{id}/audit");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /v1/jobs/{id}/audit: {(int)response.StatusCode} {text}");
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("entries").EnumerateArray().Select(e => e.Clone())];
    }

    [GeneratedRegex(@"^\d{19}-\d+\.(started|finished)\.json$")]
    private static partial Regex SpoolName();
}
