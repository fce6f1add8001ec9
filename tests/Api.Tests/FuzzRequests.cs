using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace HpcJobs.Api.Tests;

/// <summary>One generated request, described well enough to replay it by hand.</summary>
/// <param name="Index">Its position in the seeded sequence.</param>
/// <param name="Kind">What the generator meant to exercise, e.g. <c>patch/malformed:truncate</c>.</param>
/// <param name="Target">Path and query, relative to the service, exactly as handed to <see cref="Uri"/>.</param>
/// <param name="ContentType">The Content-Type header sent verbatim; null for none.</param>
/// <param name="Body">The body bytes; null for no body.</param>
/// <param name="Unsized">Sent without a Content-Length, so the server learns the size only by reading.</param>
/// <param name="MustBeRejected">Aimed at the protected job: anything but a 4xx is a bug.</param>
/// <param name="WatchedId">A pool job that must look the same afterwards when the request is rejected.</param>
public sealed record FuzzRequest(
    int Index,
    string Kind,
    string Method,
    string Target,
    string? ContentType,
    byte[]? Body,
    bool Unsized,
    bool MustBeRejected,
    string? WatchedId)
{
    public bool IsMutating => Method is "POST" or "PUT" or "PATCH" or "DELETE";

    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"#{Index} [{Kind}] {Method} {Printable(Encoding.UTF8.GetBytes(Target), 300)}");
        text.Append(ContentType is null ? " (no Content-Type)" : $" Content-Type: {Printable(Encoding.UTF8.GetBytes(ContentType), 80)}");
        if (Body is null)
        {
            text.Append(" (no body)");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $" body {Body.Length} bytes{(Unsized ? ", unsized" : string.Empty)}: {Printable(Body, 400)}");
        }

        return text.ToString();
    }

    /// <summary>Bytes as a C#-like string literal: valid UTF-8 as text (control characters escaped), the rest as \xNN.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes, int max)
    {
        var text = new StringBuilder("\"");
        var decoder = new UTF8Encoding(false, true);
        var i = 0;
        while (i < bytes.Length && text.Length < max)
        {
            var length = SequenceLength(bytes[i]);
            string? decoded = null;
            if (length > 0 && i + length <= bytes.Length)
            {
                try
                {
                    decoded = decoder.GetString(bytes.Slice(i, length));
                }
                catch (DecoderFallbackException)
                {
                    decoded = null;
                }
            }

            if (decoded is null)
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{bytes[i]:X2}");
                i++;
                continue;
            }

            foreach (var c in decoded)
            {
                text.Append(c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    _ when char.IsControl(c) || c == '\uFEFF' => $"\\u{(int)c:X4}",
                    _ => c.ToString(),
                });
            }

            i += length;
        }

        text.Append('"');
        if (i < bytes.Length)
        {
            text.Append(CultureInfo.InvariantCulture, $"... (+{bytes.Length - i} bytes)");
        }

        return text.ToString();
    }

    private static int SequenceLength(byte first) => first switch
    {
        < 0x80 => 1,
        >= 0xC2 and <= 0xDF => 2,
        >= 0xE0 and <= 0xEF => 3,
        >= 0xF0 and <= 0xF4 => 4,
        _ => 0,
    };
}

/// <summary>
/// The seeded request generator. It only draws from its <see cref="Random"/> (never from the
/// server's answers), so one seed always yields the same sequence. The protected job is only ever
/// sent requests the contract obliges the service to reject; every other id comes from a small pool
/// (so creates, updates, samples and deletes meet each other), from fresh names, or from hostile strings.
/// </summary>
public sealed class FuzzRequestGenerator(Random random, string protectedId, DateTimeOffset now)
{
    public const int MiB = 1024 * 1024;

    private static readonly string[] _methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    private static readonly string[] _states = ["pending", "running", "completed", "failed", "cancelled"];

    private static readonly string[] _users =
        ["alice", "bob", "carol", "ユーザー", "user with space", "o'brien", "emoji🚀", "back\\slash", "quote\"d", "<b>x</b>",
         "tab\there", "line\u2028sep", "ümlaut", new string('u', 255), "%00", "x"];

    private static readonly string[] _nodes =
        ["n1", "n2", "node-001", "gpu[01-04]", "ノード", "a b", "🚀", "n=\"1\"", "n\\1", "n{1}", new string('n', 255), "n\nnewline"];

    private static readonly string[] _hostileIdPieces =
    [
        "a%2Fb", "%2F", "%2f", "%2F%2F", "..%2F..%2Fhealth", "%00", "a%00b", "%00%00", "..", ".", "...", "%2E%2E", "%2e", "a..b",
        "ジョブ", "%E3%82%B8%E3%83%A7%E3%83%96", "🚀", "%F0%9F%9A%80", "é", "%C3%A9",
        "%01", "%1F", "%7F", "%C2%85", "%E2%80%8B", "%E2%80%AE", "%EF%BB%BF", "a%0Ab", "%0D%0A", "%09",
        " ", "a b", "%20", "%20%20", "+", "%2B",
        "?", "a?b", "%3F", "?limit=-1", "#", "a#b", "%23",
        "%", "%Z", "%ZZ", "%C3%28", "%ED%A0%80", "%FF", "%C0%AF", "%E0%80%AF", "%F4%90%80%80",
        "\\", "%5C", "'", "%22", "\"", "<script>", "%3Cscript%3E", "'%20OR%201=1--", "x');DROP%20TABLE%20jobs;--",
        ";", "a;b=c", "~", "*", "$", ":", "@", "a:b", "[", "]", "{id}", "%7Bid%7D", "null", "undefined", "0", "-1",
        "12345", "12345_7", "12345.0", "1e400", "metrics", "v1", "%2Fmetrics", "fz-1%2F..", "fz-1%00", "fz-1%20", "%20fz-1", "FZ-1",
        "\u0001", "\t", "\n", "\u007F", "\u0085", "\u200B", "\uFEFF",
    ];

    private static readonly string[] _unknownPaths =
    [
        "/", "/v1", "/v1/", "/v2/jobs", "/jobs", "/v1/nope", "/V1/JOBS", "/v1//jobs", "/v1/jobs/", "/v1/jobs//metrics", "/metrics/",
        "/v1/health/x", "/v1/metrics/x", "/metrics/x", "/v1/jobs/fz-1/nope", "/v1/jobs/fz-1/metrics/extra", "/v1/jobs/%2F/metrics",
        "/%2e%2e/v1/health", "/v1/./health", "/v1/jobs/fz-1/../fz-2", "/favicon.ico", "/.env", "/v1/jobs?x=1#frag", "/%00",
        "/v1/health%00", "/v1/jobs%2Ffz-1", "/" + new string('a', 5000),
    ];

    private static readonly string[] _contentTypes =
    [
        "text/plain", "text/plain; charset=utf-8", "application/json; charset=latin1", "application/json; charset=utf-16",
        "application/json;charset=UTF-8", "APPLICATION/JSON", "application/problem+json", "application/vnd.api+json",
        "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "application/xml", "text/json", "*/*",
        "application/", "application", "garbage", "", " ", "application/json;;;", "application/json; charset=\"", "json",
        "application/json, text/plain", "application/json\u0001", "application/jsonx", "application/octet-stream",
    ];

    /// <summary>Content types the contract makes a 415 for any body.</summary>
    private static readonly string[] _rejectedContentTypes =
    [
        "text/plain", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "application/xml", "text/json",
        "application/octet-stream", "application/jsonx",
    ];

    private static readonly JsonSerializerOptions _relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Random _random = random;
    private int _fresh;

    /// <summary>Ids of the jobs the fuzzer creates, updates and deletes again and again.</summary>
    public static IReadOnlyList<string> PoolIds { get; } = [.. Enumerable.Range(0, 12).Select(i => $"fz-{i}")];

    public FuzzRequest Next(int index)
    {
        var roll = _random.Next(1000);
        return roll switch
        {
            < 130 => CreateJob(index),
            < 250 => UpdateJob(index),
            < 370 => RecordSample(index),
            < 420 => DeleteJob(index),
            < 490 => ReadJob(index),
            < 570 => ListJobs(index),
            < 640 => ReadSamples(index),
            < 740 => AgainstProtectedJob(index),
            < 790 => IngestBatch(index),
            < 820 => HealthOrMetrics(index),
            < 940 => AnyMethodAnyRoute(index),
            _ => UnknownPath(index),
        };
    }

    // ---- the routes ----

    private FuzzRequest CreateJob(int index)
    {
        var id = BodyId();
        var (kind, body, contentType, unsized) = Body(ValidCreate(id));
        return new FuzzRequest(index, "create/" + kind, "POST", "/v1/jobs" + (Chance(5) ? ListQuery() : string.Empty),
            contentType, body, unsized, false, PoolIds.Contains(id) ? id : null);
    }

    private FuzzRequest UpdateJob(int index)
    {
        var (segment, watched) = PathId();
        var (kind, body, contentType, unsized) = Body(ValidPatch());
        return new FuzzRequest(index, "patch/" + kind, "PATCH", "/v1/jobs/" + segment, contentType, body, unsized, false, watched);
    }

    private FuzzRequest RecordSample(int index)
    {
        var (segment, watched) = PathId();
        var (kind, body, contentType, unsized) = Body(ValidSample());
        return new FuzzRequest(index, "sample/" + kind, "POST", "/v1/jobs/" + segment + "/metrics", contentType, body, unsized, false, watched);
    }

    private FuzzRequest DeleteJob(int index)
    {
        var (segment, watched) = PathId();
        var (body, contentType) = Chance(10) ? (Utf8("{}"), "application/json") : ((byte[]?)null, (string?)null);
        return new FuzzRequest(index, "delete", "DELETE", "/v1/jobs/" + segment, contentType, body, false, false, watched);
    }

    private FuzzRequest ReadJob(int index)
    {
        var (segment, _) = PathId();
        var method = Chance(15) ? "HEAD" : "GET";
        var query = Chance(20) ? Query(["x", "limit", "state"], MetricsValue) : string.Empty;
        return new FuzzRequest(index, "get-job", method, "/v1/jobs/" + segment + query, null, null, false, false, null);
    }

    private FuzzRequest ListJobs(int index)
    {
        var method = Chance(10) ? "HEAD" : "GET";
        return new FuzzRequest(index, "list", method, "/v1/jobs" + (Chance(10) ? "/" : string.Empty) + ListQuery(), null, null, false, false, null);
    }

    private FuzzRequest ReadSamples(int index)
    {
        var (segment, _) = PathId();
        var method = Chance(10) ? "HEAD" : "GET";
        return new FuzzRequest(index, "history", method, "/v1/jobs/" + segment + "/metrics" + MetricsQuery(), null, null, false, false, null);
    }

    private FuzzRequest IngestBatch(int index)
    {
        var (kind, body, contentType, unsized) = Body(ValidBatch());
        return new FuzzRequest(index, "batch/" + kind, "POST", "/v1/metrics", contentType, body, unsized, false, null);
    }

    private FuzzRequest HealthOrMetrics(int index)
    {
        var path = Pick(["/v1/health", "/metrics", "/v1/health?verbose=1", "/metrics?name[]=x", "/metrics?" + new string('q', 10_000)]);
        var method = Pick(_methods);
        var (body, contentType) = method is "POST" or "PUT" or "PATCH" && Chance(70)
            ? (Utf8(ValidSample().Render()), Pick(["application/json", "text/plain"]))
            : ((byte[]?)null, (string?)null);
        return new FuzzRequest(index, "ops", method, path, contentType, body, false, false, null);
    }

    private FuzzRequest AnyMethodAnyRoute(int index)
    {
        var method = Pick(_methods);
        string path;
        string? watched = null;
        switch (_random.Next(7))
        {
            case 0:
                path = "/v1/health";
                break;
            case 1:
                path = "/v1/jobs" + (Chance(30) ? ListQuery() : string.Empty);
                break;
            case 2:
                (path, watched) = PathId();
                path = "/v1/jobs/" + path;
                break;
            case 3:
                (path, watched) = PathId();
                path = "/v1/jobs/" + path + "/metrics" + (Chance(30) ? MetricsQuery() : string.Empty);
                break;
            case 4:
                path = "/metrics";
                break;
            case 5:
                path = "/v1/metrics";
                break;
            default:
                path = Pick(_unknownPaths);
                break;
        }

        if (!Chance(60))
        {
            return new FuzzRequest(index, "any/" + method + "/no-body", method, path, Chance(20) ? Pick(_contentTypes) : null,
                null, false, false, method is "HEAD" or "GET" or "OPTIONS" ? null : watched);
        }

        var template = _random.Next(4) switch
        {
            0 => ValidCreate(BodyId()),
            1 => ValidPatch(),
            2 => ValidSample(),
            _ => ValidBatch(),
        };
        var (kind, body, contentType, unsized) = Body(template);
        return new FuzzRequest(index, "any/" + method + "/" + kind, method, path, contentType, body, unsized, false,
            method is "HEAD" or "GET" or "OPTIONS" ? null : watched);
    }

    private FuzzRequest UnknownPath(int index)
    {
        var method = Pick(_methods);
        var (body, contentType) = Chance(40)
            ? (Utf8(ValidCreate(NextFreshId()).Render()), "application/json")
            : ((byte[]?)null, (string?)null);
        return new FuzzRequest(index, "unknown-path", method, Pick(_unknownPaths), contentType, body, false, false, null);
    }

    /// <summary>Requests at the protected job that the contract obliges the service to refuse, and reads.</summary>
    private FuzzRequest AgainstProtectedJob(int index)
    {
        var segment = Uri.EscapeDataString(protectedId);
        var path = "/v1/jobs/" + segment;
        switch (_random.Next(10))
        {
            case 0:
                return new FuzzRequest(index, "protected/get", Pick(["GET", "HEAD", "OPTIONS"]), path + (Chance(50) ? MetricsQuery() : string.Empty),
                    null, null, false, false, null);
            case 1:
                return new FuzzRequest(index, "protected/history", Pick(["GET", "HEAD", "OPTIONS"]), path + "/metrics" + MetricsQuery(),
                    null, null, false, false, null);
            case 2:
                // Creating the same id again: 409, nothing changes.
                var create = ValidCreate(protectedId);
                return new FuzzRequest(index, "protected/duplicate-create", "POST", "/v1/jobs", "application/json", Utf8(create.Render()),
                    false, true, null);
            case 3:
                // Methods the routes do not have: 405.
                var (method, target) = Pick([("PUT", path), ("POST", path), ("PUT", path + "/metrics"), ("PATCH", path + "/metrics"),
                    ("DELETE", path + "/metrics")]);
                return new FuzzRequest(index, "protected/405", method, target, "application/json", Utf8(ValidSample().Render()),
                    false, true, null);
            case 4:
                // running → pending is not a transition: 409, and any usage in the same body is not recorded.
                var back = new FuzzObject(this);
                back.Add("state", Q("pending"));
                if (Chance(60))
                {
                    back.Add(Spell("cpu_usage"), Percent());
                    back.Add(Spell("memory_usage_mb"), Memory());
                }

                return new FuzzRequest(index, "protected/conflict", "PATCH", path, "application/json", Utf8(back.Render()), false, true, null);
            case 5:
            case 6:
                var (patchKind, patchBody, patchType, patchUnsized) = RejectedBody(ValidPatch(), isPatch: true);
                return new FuzzRequest(index, "protected/patch/" + patchKind, "PATCH", path, patchType, patchBody, patchUnsized, true, null);
            default:
                var (sampleKind, sampleBody, sampleType, sampleUnsized) = RejectedBody(ValidSample(), isPatch: false);
                return new FuzzRequest(index, "protected/sample/" + sampleKind, "POST", path + "/metrics", sampleType, sampleBody,
                    sampleUnsized, true, null);
        }
    }

    // ---- ids ----

    private string BodyId() => _random.Next(100) switch
    {
        < 65 => Pick(PoolIds),
        < 80 => NextFreshId(),
        < 88 => Pick(["12345", "12345_7", "12345.0", "99999999999999999999"]) + "-" + _fresh++,
        _ => Pick(["a/b", "/", "", " ", "\t", "x\u0000y", "\u0001", new string('i', 255) + _fresh++ % 10, new string('i', 256),
            "ジョブ" + _fresh++, "🚀" + _fresh++, "..", "%2F", "fz-1 ", "\u0085x"]),
    };

    private string NextFreshId() => "fzn-" + _fresh++;

    /// <summary>A path segment for /v1/jobs/{id}, and the pool id it names when it names one.</summary>
    private (string Segment, string? Watched) PathId()
    {
        var roll = _random.Next(100);
        if (roll < 60)
        {
            var id = Pick(PoolIds);
            return (Uri.EscapeDataString(id), id);
        }

        if (roll < 70)
        {
            return (Uri.EscapeDataString(NextFreshId()), null);
        }

        return (HostileSegment(), null);
    }

    private string HostileSegment()
    {
        while (true)
        {
            var segment = new StringBuilder();
            var pieces = 1 + _random.Next(3);
            for (var i = 0; i < pieces; i++)
            {
                segment.Append(Pick(_hostileIdPieces));
            }

            switch (_random.Next(12))
            {
                case 0:
                    segment.Append(new string('x', 300));
                    break;
                case 1:
                    segment.Insert(0, new string('y', 255 - Math.Min(255, segment.Length)));
                    break;
                case 2:
                    segment.Append(string.Concat(Enumerable.Repeat("%F0%9F%9A%80", 130)));
                    break;
                default:
                    break;
            }

            var text = segment.ToString();

            // Guard: no hostile segment may decode to the protected job (it never does; the pieces do not spell it).
            if (!Decoded(text).Contains("protected", StringComparison.OrdinalIgnoreCase))
            {
                return text;
            }
        }
    }

    private static string Decoded(string text)
    {
        try
        {
            return Uri.UnescapeDataString(text);
        }
        catch (UriFormatException)
        {
            return text;
        }
    }

    // ---- query strings ----

    private string ListQuery() => Query(["state", "user", "node", "limit", "offset"], ListValue);

    private string MetricsQuery() => Query(["start_time", "end_time", "limit"], MetricsValue);

    private string Query(string[] names, Func<string, string> value)
    {
        if (Chance(15))
        {
            return Pick(["?", "?&&", "?=", "?&=&", "?limit", "?limit=", "?%", "?limit=%ZZ", "?limit=1%00", "?limit=1&limit=2",
                "?state=running&state=running", "?a=b=c", "?" + new string('&', 500), "?limit=" + new string('9', 10_000),
                "?%00=%00", "?limit[]=1", "?LIMIT=1", "?limit =1", "?+limit=1", "?offset=%2D1", "?limit=%EF%BC%91",
                "?start_time=2026-01-01T00:00:00+01:00", "?start_time=" + new string('2', 10_240)]);
        }

        var parts = new List<string>();
        var count = _random.Next(5);
        for (var i = 0; i < count; i++)
        {
            var name = Chance(85) ? Pick(names) : Pick(["foo", "limit[]", "LIMIT", "state ", "%00", "", "a%3Db", "offset%00", "__proto__"]);
            parts.Add(name + "=" + value(name));
            if (Chance(10))
            {
                parts.Add(name + "=" + value(name));
            }
        }

        return parts.Count == 0 ? string.Empty : "?" + string.Join("&", parts);
    }

    private string ListValue(string name) => name switch
    {
        "state" => Chance(70) ? Pick(_states) : Pick(["RUNNING", "Running", "run", "", "%00", "running%00", "running,failed", "*", "null", "1"]),
        "user" => Chance(70) ? Escape(Pick(_users)) : HostileValue(),
        "node" => Chance(70) ? Escape(Pick(_nodes)) : HostileValue(),
        "limit" => Chance(50) ? (1 + _random.Next(1000)).ToString(CultureInfo.InvariantCulture) : NumberGarbage(),
        "offset" => Chance(50) ? _random.Next(60).ToString(CultureInfo.InvariantCulture) : NumberGarbage(),
        _ => HostileValue(),
    };

    private string MetricsValue(string name) => name switch
    {
        "start_time" or "end_time" => Chance(50) ? Escape(Time(now.AddMinutes(-_random.Next(-120, 600)))) : TimeGarbage(),
        "limit" => Chance(50) ? (1 + _random.Next(10_000)).ToString(CultureInfo.InvariantCulture) : NumberGarbage(),
        _ => HostileValue(),
    };

    private string NumberGarbage() => Pick(
    [
        "-1", "0", "1e9", "1e400", "1000000000", "1001", "10001", "abc", "", " 5", "5 ", "%205", "+5", "%2B5", "0x10", "1.5", "1,5", "١",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999", "2147483648", "NaN", "Infinity",
        "%00", "5%00", "null", "true", "[1]", "-0", "00001", new string('1', 10_240),
    ]);

    private string TimeGarbage() => Pick(
    [
        "garbage", "", "now", "2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.9999999Z", "2026-01-01T00:00:00", "2026-01-01", "2026-01-01T00:00:00.123456789Z",
        "2026-01-01T00:00:00%2B01:00", "2026-01-01T00:00:00+01:00", "2026-01-01 00:00:00Z", "1767225600", "-1", "2026-02-30T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T23:59:60Z", "%00", "2026-01-01T00:00:00Z%00", "2026-01-01T00:00:00z", "２０２６-01-01T00:00:00Z",
        new string('2', 10_240),
    ]);

    private string HostileValue() => Pick(
    [
        "%00", "%", "%ZZ", "%C3%28", "%FF", "%ED%A0%80", new string('v', 256), new string('v', 10_240), "%E2%80%AE", "%F0%9F%9A%80",
        "'%20OR%201=1--", "%25", "a%26b=c", "%0A", "%20", "", "*", "\\", "%5C%22",
    ]);

    private static string Escape(string value) => Uri.EscapeDataString(value);

    // ---- valid bodies ----

    private FuzzObject ValidCreate(string id)
    {
        var body = new FuzzObject(this);
        body.Add("id", Q(id));
        body.Add("user", Q(Pick(_users)));
        var nodes = Enumerable.Range(0, 1 + _random.Next(3)).Select(_ => Q(Pick(_nodes)));
        body.Add("nodes", "[" + string.Join(",", nodes) + "]");
        if (Chance(70))
        {
            body.Add("state", Q(Pick(["pending", "running"])));
        }

        if (Chance(40))
        {
            body.Add(Spell("start_time"), Q(Time(now.AddMinutes(-_random.Next(0, 600)))));
        }

        if (Chance(30))
        {
            body.Add("scheduler", Scheduler());
        }

        return body.Shuffled();
    }

    private string Scheduler()
    {
        var fields = new List<string>();
        foreach (var (name, value) in new (string, Func<string>)[]
        {
            ("type", () => Q(Pick(["slurm", "mock", "pbs"]))),
            ("external_job_id", () => Q(_random.Next(1_000_000).ToString(CultureInfo.InvariantCulture))),
            ("raw_state", () => Q(Pick(["RUNNING", "PENDING", "COMPLETING"]))),
            ("submit_time", () => Q(Time(now.AddHours(-1)))),
            ("partition", () => Q(Pick(["gpu", "cpu", "debug"]))),
            ("account", () => Q("acct")),
            ("qos", () => Q("normal")),
            ("priority", () => Pick(["0", "-5", "4294967296", "9223372036854775807", "-9223372036854775808"])),
            ("exit_code", () => Pick(["0", "1", "-1", "255", "2147483647"])),
            ("extra", () => Pick(["{}", "{\"k\":[1,2,{\"x\":null}]}", "{\"deep\":" + Nest(20, 'o') + "}", "{\"s\":\"ü🚀\\u0001\"}"])),
        })
        {
            if (Chance(50))
            {
                fields.Add(Q(Spell(name)) + ":" + value());
            }
        }

        return "{" + string.Join(",", fields) + "}";
    }

    private FuzzObject ValidPatch()
    {
        var body = new FuzzObject(this);
        while (body.Count == 0)
        {
            if (Chance(50))
            {
                body.Add("state", Q(Pick(_states)));
            }

            if (Chance(40))
            {
                body.Add(Spell("cpu_usage"), Percent());
            }

            if (Chance(40))
            {
                body.Add(Spell("memory_usage_mb"), Memory());
            }

            if (Chance(25))
            {
                body.Add(Spell("gpu_usage"), Percent());
            }
        }

        return body;
    }

    private FuzzObject ValidSample()
    {
        var body = new FuzzObject(this);
        body.Add(Spell("cpu_usage"), Percent());
        body.Add(Spell("memory_usage_mb"), Memory());
        if (Chance(40))
        {
            body.Add(Spell("gpu_usage"), Percent());
        }

        if (Chance(40))
        {
            body.Add("timestamp", Q(Time(now.AddSeconds(-_random.Next(0, 7200)))));
        }

        return body.Shuffled();
    }

    private FuzzObject ValidBatch()
    {
        var items = new List<string>();
        var count = 1 + _random.Next(5);
        for (var i = 0; i < count; i++)
        {
            var sample = ValidSample();
            sample.Add(Spell("job_id"), Q(Chance(80) ? Pick(PoolIds) : NextFreshId()));
            items.Add(sample.Shuffled().Render());
        }

        var body = new FuzzObject(this);
        body.Add("samples", "[" + string.Join(",", items) + "]");
        return body;
    }

    private string Percent() => Pick(
    [
        "0", "100", "50", "12.5", "99.999", "0.0", "1e1", "1E2", "0.000001",
        Math.Round(_random.NextDouble() * 100, 3).ToString("R", CultureInfo.InvariantCulture),
    ]);

    private string Memory() => Pick(
    [
        "0", "1", "1024", "65536", "1099511627776",
        _random.NextInt64(0, 1L << 30).ToString(CultureInfo.InvariantCulture),
    ]);

    private string Time(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return _random.Next(6) switch
        {
            0 => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            1 => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            2 => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", CultureInfo.InvariantCulture),
            3 => utc.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
            4 => utc.ToString("yyyy-MM-dd't'HH:mm:ss'z'", CultureInfo.InvariantCulture),
            _ => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>A field name in its snake_case or its camelCase spelling.</summary>
    private string Spell(string snake) => Chance(50) ? snake : FuzzObject.Camel(snake);

    // ---- what is done to a valid body ----

    private (string Kind, byte[]? Body, string? ContentType, bool Unsized) Body(FuzzObject valid)
    {
        var roll = _random.Next(100);
        if (roll < 35)
        {
            return ("valid", Utf8(valid.Render()), Chance(90) ? "application/json" : Pick<string?>([null, "application/json; charset=utf-8"]), false);
        }

        if (roll < 62)
        {
            var (kind, bytes) = Malformed(valid, certain: false, isPatch: false);
            return ("malformed:" + kind, bytes, "application/json", false);
        }

        if (roll < 77)
        {
            return ("mutated", Mutate(Utf8(valid.Render())), "application/json", false);
        }

        if (roll < 82)
        {
            return ("top-level", Utf8(Pick(["null", "[]", "\"str\"", "1", "true", "[" + valid.Render() + "]", "{}", "  ", "\n"])), "application/json", false);
        }

        if (roll < 86)
        {
            var size = Pick([MiB + 1, MiB + 4096, 2 * MiB, MiB - 16, MiB]);
            return ("oversized:" + size, Padded(valid, size), "application/json", Chance(50));
        }

        if (roll < 88)
        {
            return ("empty", Chance(50) ? [] : null, Chance(50) ? "application/json" : null, false);
        }

        var bodyBytes = Chance(70) ? Utf8(valid.Render()) : Malformed(valid, certain: false, isPatch: false).Body;
        var contentType = Pick(_contentTypes);
        return ("content-type:" + contentType, bodyBytes, contentType, false);
    }

    /// <summary>A body the contract obliges the service to reject on the PATCH or sample route.</summary>
    private (string Kind, byte[]? Body, string? ContentType, bool Unsized) RejectedBody(FuzzObject valid, bool isPatch)
    {
        var roll = _random.Next(100);
        if (roll < 70)
        {
            var (kind, bytes) = Malformed(valid, certain: true, isPatch);
            return ("malformed:" + kind, bytes, "application/json", false);
        }

        if (roll < 80)
        {
            var contentType = Pick(_rejectedContentTypes);
            return ("content-type:" + contentType, Utf8(valid.Render()), contentType, false);
        }

        if (roll < 90)
        {
            var size = Pick([MiB + 1, MiB + 4096, 2 * MiB]);
            return ("oversized:" + size, Padded(valid, size), "application/json", Chance(50));
        }

        if (roll < 95)
        {
            return ("empty", Chance(50) ? [] : null, "application/json", false);
        }

        return ("top-level", Utf8(Pick(["null", "[]", "\"str\"", "1", "true", "[" + valid.Render() + "]"])), "application/json", false);
    }

    /// <summary>
    /// The valid body broken in one way. With <paramref name="certain"/>, only breakages the contract
    /// rejects on the PATCH (<paramref name="isPatch"/>) or sample route, whatever else the body holds.
    /// </summary>
    private (string Kind, byte[] Body) Malformed(FuzzObject valid, bool certain, bool isPatch)
    {
        var text = valid.Render();
        var operators = certain ? 12 : 19;
        switch (_random.Next(operators))
        {
            case 0:
                return ("truncated", Utf8(text[..(1 + _random.Next(text.Length - 1))]));
            case 1:
                return ("extra-comma", Utf8(Pick([
                    "{," + text[1..],
                    text[..^1] + ",}",
                    text.Replace(",", ",,", StringComparison.Ordinal) + (text.Contains(',', StringComparison.Ordinal) ? string.Empty : ",,"),
                    text[..^1] + ",," + "}",
                ])));
            case 2:
                return ("wrong-brackets", Utf8(Pick(["[" + text[1..], text[..^1] + "]", "[" + text[1..^1] + "]", text[..^1] + ")", "(" + text[1..], text + "}", "{" + text])));
            case 3:
                return ("non-json-number", Utf8(valid.WithValue(ValidNumberField(valid),
                    Pick(["NaN", "Infinity", "-Infinity", "+1", ".5", "01", "1.", "0x10", "1e", "--1", "nan", "1_000", "１"])).Render()));
            case 4:
                return ("huge-number", Utf8(valid.WithValue(ValidNumberField(valid),
                    Pick(["1e400", "-1e400", "1e309", "1.7976931348623157e309", "123456789012345678901234567890", "-123456789012345678901234567890",
                        "100.5", "-1", "1e20", "1099511627777", "9223372036854775808", "-9223372036854775809"])).Render()));
            case 5:
                return ("number-as-string", Utf8(valid.WithValue(ValidNumberField(valid), Pick(["\"50\"", "\"0\"", "\"1e3\"", "\"\"", "\"NaN\""])).Render()));
            case 6:
                return ("deep-nesting", Utf8(Chance(50)
                    ? valid.WithField("nested", Nest(100, Pick(['a', 'o'])), before: Chance(50)).Render()
                    : valid.WithValue(valid.FirstName(), Nest(_random.Next(33, 200), Pick(['a', 'o']))).Render()));
            case 7:
                return ("duplicate-key", Utf8(valid.WithDuplicate(valid.FirstName(), camel: Chance(70)).Render()));
            case 8:
                return ("null-everywhere", Utf8(valid.AllNull().Render()));
            case 9:
                return ("trailing-garbage", Utf8(Pick([text + " x", text + text, text + "}", "/* c */" + text, text + "//c", text + "\u0000",
                    text.Replace("\"", "'", StringComparison.Ordinal), text + ",", "x" + text, text + "]"])));
            case 10:
                // A state or number that cannot be valid, spelled with broken escapes or raw bytes.
                var field = isPatch ? "state" : ValidNumberField(valid);
                var escape = Pick(["\"\\ud800\"", "\"\\udc00x\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"\\x41\"", "\"\\u12\"", "\"\\'\"",
                    "\"a\u0001b\"", "\"\\uDFFF\\uD800\""]);
                return ("bad-escape:" + escape, Utf8(valid.WithValue(field, escape).Render()));
            case 11:
                var target = isPatch ? "state" : ValidNumberField(valid);
                var broken = valid.WithValue(target, "\"@bytes@\"").Render();
                var bad = Pick<byte[]>([[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82]]);
                return ("invalid-utf8-in-value", Splice(broken, "@bytes@", bad));

            // ---- not certainly rejected ----
            case 12:
                return ("negative-zero", Utf8(valid.WithValue(AnyNumberField(valid), Pick(["-0", "-0.0", "-0e0", "0e-5", "1e-400"])).Render()));
            case 13:
                return ("fractional", Utf8(valid.WithValue(AnyNumberField(valid), Pick(["1.5", "0.5", "1.0", "1e3", "1024.000001", "2.5e1"])).Render()));
            case 14:
                var length = Pick([256, 10_000, 200_000]);
                return ("long-string:" + length, Utf8(valid.WithValue(valid.AnyName(), Q(new string('s', length))).Render()));
            case 15:
                var bytes = Pick<byte[]>([[0xFF], [0xFE], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]]);
                var where = _random.Next(4);
                var withMarker = where switch
                {
                    0 => valid.WithValue(valid.AnyName(), "\"x@bytes@y\"").Render(),
                    1 => valid.WithField("k@bytes@", "1", before: Chance(50)).Render(),
                    2 => valid.WithField("unknown", "\"@bytes@\"", before: Chance(50)).Render(),
                    _ => "@bytes@" + text,
                };
                return ("invalid-utf8:" + where, Splice(withMarker, "@bytes@", bytes));
            case 16:
                byte[] bom = Pick<byte[]>([[0xEF, 0xBB, 0xBF], [0xFF, 0xFE], [0xFE, 0xFF]]);
                return ("bom:" + bom.Length, Chance(70) ? [.. bom, .. Utf8(text)] : [.. bom, .. Encoding.Unicode.GetBytes(text)]);
            case 17:
                return ("null-one", Utf8(valid.WithValue(valid.AnyName(), "null").Render()));
            default:
                var escaped = Pick(["\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude80\"", "\"\\u0000\"", "\"\\u0001\"", "\"\\u2028\"", "\"\\\\\"", "\"\\/\""]);
                return ("escape:" + escaped, Utf8(valid.WithValue(valid.AnyName(), escaped).Render()));
        }
    }

    /// <summary>A numeric field the route requires to be valid (added when the body has none).</summary>
    private string ValidNumberField(FuzzObject valid)
    {
        var numbers = valid.Names.Where(FuzzObject.IsNumeric).ToList();
        if (numbers.Count > 0)
        {
            return Pick([.. numbers]);
        }

        // A patch of only a state: give it a usage field to break.
        var name = Spell("memory_usage_mb");
        valid.Add(name, "0");
        return name;
    }

    private string AnyNumberField(FuzzObject valid)
    {
        var numbers = valid.Names.Where(FuzzObject.IsNumeric).ToList();
        return numbers.Count > 0 ? Pick([.. numbers]) : valid.AnyName();
    }

    private byte[] Mutate(byte[] bytes)
    {
        var data = new List<byte>(bytes);
        var operations = 1 + _random.Next(4);
        byte[] interesting = [(byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)'"', (byte)',', (byte)':', (byte)'\\', 0x00, 0xFF, 0x80, (byte)'-', (byte)'e', (byte)'.'];
        for (var i = 0; i < operations && data.Count > 0; i++)
        {
            var at = _random.Next(data.Count);
            switch (_random.Next(6))
            {
                case 0:
                    data[at] ^= (byte)(1 << _random.Next(8));
                    break;
                case 1:
                    data.Insert(at, (byte)_random.Next(256));
                    break;
                case 2:
                    data.RemoveAt(at);
                    break;
                case 3:
                    data[at] = Pick(interesting);
                    break;
                case 4:
                    var length = Math.Min(data.Count - at, 1 + _random.Next(16));
                    data.InsertRange(at, data.GetRange(at, length));
                    break;
                default:
                    var other = _random.Next(data.Count);
                    (data[at], data[other]) = (data[other], data[at]);
                    break;
            }
        }

        return [.. data];
    }

    /// <summary>The valid body with an unknown field padding it to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] Padded(FuzzObject valid, int size)
    {
        var text = valid.WithField("pad", "\"@pad@\"", before: false).Render();
        var padding = size - Encoding.UTF8.GetByteCount(text) + "@pad@".Length;
        return Utf8(text.Replace("@pad@", new string('p', Math.Max(0, padding)), StringComparison.Ordinal));
    }

    private static string Nest(int depth, char kind) =>
        kind == 'a'
            ? new string('[', depth) + "1" + new string(']', depth)
            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static byte[] Splice(string text, string marker, byte[] bytes)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        return [.. Utf8(text[..at]), .. bytes, .. Utf8(text[(at + marker.Length)..])];
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A JSON string literal, either with non-ASCII escaped or written as raw UTF-8.</summary>
    public string Q(string value) => Chance(50) ? JsonSerializer.Serialize(value) : JsonSerializer.Serialize(value, _relaxed);

    public bool Chance(int percent) => _random.Next(100) < percent;

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    public int Below(int max) => _random.Next(max);
}

/// <summary>A JSON object as an ordered list of (name, raw JSON value), so fields can be broken one by one.</summary>
public sealed class FuzzObject(FuzzRequestGenerator generator)
{
    private static readonly HashSet<string> _numeric = ["cpu_usage", "cpuUsage", "memory_usage_mb", "memoryUsageMb", "gpu_usage", "gpuUsage"];

    private readonly List<(string Name, string Value)> _fields = [];

    public int Count => _fields.Count;

    public IEnumerable<string> Names => _fields.Select(f => f.Name);

    public static bool IsNumeric(string name) => _numeric.Contains(name);

    public static string Camel(string snake)
    {
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }

    public static string Snake(string name) =>
        string.Concat(name.Select(c => char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : c.ToString()));

    public void Add(string name, string value) => _fields.Add((name, value));

    public string FirstName() => _fields[0].Name;

    public string AnyName() => _fields[generator.Below(_fields.Count)].Name;

    public FuzzObject Shuffled()
    {
        var copy = Copy();
        for (var i = copy._fields.Count - 1; i > 0; i--)
        {
            var j = generator.Below(i + 1);
            (copy._fields[i], copy._fields[j]) = (copy._fields[j], copy._fields[i]);
        }

        return copy;
    }

    public FuzzObject WithValue(string name, string value)
    {
        var copy = Copy();
        var at = copy._fields.FindIndex(f => f.Name == name);
        if (at < 0)
        {
            copy._fields.Add((name, value));
        }
        else
        {
            copy._fields[at] = (name, value);
        }

        return copy;
    }

    public FuzzObject WithField(string name, string value, bool before)
    {
        var copy = Copy();
        copy._fields.Insert(before ? 0 : copy._fields.Count, (name, value));
        return copy;
    }

    /// <summary>The field given twice: in its other spelling (<paramref name="camel"/>) or in the same one.</summary>
    public FuzzObject WithDuplicate(string name, bool camel)
    {
        var copy = Copy();
        var (_, value) = _fields.First(f => f.Name == name);
        var other = !camel ? name : name.Contains('_', StringComparison.Ordinal) ? Camel(name) : Snake(name);
        copy._fields.Insert(generator.Below(copy._fields.Count + 1), (other, value));
        return copy;
    }

    public FuzzObject AllNull()
    {
        var copy = new FuzzObject(generator);
        copy._fields.AddRange(_fields.Select(f => (f.Name, "null")));
        return copy;
    }

    public string Render()
    {
        var separator = generator.Pick([",", ", ", ",\n  "]);
        return "{" + string.Join(separator, _fields.Select(f => JsonSerializer.Serialize(f.Name) + ":" + f.Value)) + "}";
    }

    private FuzzObject Copy()
    {
        var copy = new FuzzObject(generator);
        copy._fields.AddRange(_fields);
        return copy;
    }
}
