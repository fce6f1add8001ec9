using System.Net;
using System.Text;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The write headers X-Changed-By, X-Source and X-Correlation-Id on every write route, on each
/// backend: at most 255 printable characters, given once; otherwise 400 validation_error naming
/// the header, and the write does not happen.
/// </summary>
public abstract class WriteHeaderTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private static readonly string[] Headers = ["X-Changed-By", "X-Source", "X-Correlation-Id"];

    private HttpClient Client => service.Client;

    public static TheoryData<string> Routes => new() { "create", "patch", "delete", "sample", "batch" };

    /// <summary>Malformed values: one too long, control characters inside (TAB, SOH, DEL), the header given twice.</summary>
    private static readonly string[][] BadValues =
    [
        [new string('a', 256)],
        ["a\tb"],
        ["a\u0001b"],
        ["a\u007fb"],
        ["one", "two"],
    ];

    /// <summary>The route's request for job <paramref name="id"/> (which exists unless the route creates it).</summary>
    private static HttpRequestMessage Request(string route, string id) => route switch
    {
        "create" => new(HttpMethod.Post, "/v1/jobs") { Content = Json($$"""{"id":"{{id}}","user":"u","nodes":["n1"]}""") },
        "patch" => new(HttpMethod.Patch, $"/v1/jobs/{id}") { Content = Json("""{"state":"completed"}""") },
        "delete" => new(HttpMethod.Delete, $"/v1/jobs/{id}"),
        "sample" => new(HttpMethod.Post, $"/v1/jobs/{id}/metrics") { Content = Json(Sample(Now().AddSeconds(-30), 10, 100)) },
        "batch" => new(HttpMethod.Post, "/v1/metrics") { Content = Json(Batch(Sample(Now().AddSeconds(-30), 10, 100, jobId: id))) },
        _ => throw new ArgumentOutOfRangeException(nameof(route)),
    };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The job as a fresh route would find it: absent for create, a running job without samples otherwise.</summary>
    private async Task<string> PrepareAsync(string route) =>
        route == "create" ? "h-" + Guid.NewGuid().ToString("N") : await CreateJobAsync(Client);

    /// <summary>Fails unless the job is exactly as <see cref="PrepareAsync"/> left it.</summary>
    private async Task AssertUnchangedAsync(string route, string id)
    {
        using var response = await Client.GetAsync($"/v1/jobs/{id}");
        if (route == "create")
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            return;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("running", (await response.ReadJsonAsync()).GetProperty("state").GetString());
        Assert.Empty(await HistoryAsync(Client, id));
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task WriteHeaders_Answer400NamingTheHeader_AndChangeNothing_WhenMalformed(string route)
    {
        foreach (var header in Headers)
        {
            foreach (var values in BadValues)
            {
                var id = await PrepareAsync(route);
                using var request = Request(route, id);
                Assert.True(request.Headers.TryAddWithoutValidation(header, values));

                using var response = await Client.SendAsync(request);

                var error = await ExpectValidationErrorAsync(response);
                var described = $"{route}, {header}: {string.Join('|', values).Replace("\u0001", "\\u0001", StringComparison.Ordinal)}";
                Assert.True(error.TryGetProperty("details", out var details) && details.TryGetProperty(header, out _), $"{described}: {error}");
                await AssertUnchangedAsync(route, id);
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task WriteHeaders_AreAccepted_WhenEachIsAtMost255PrintableCharacters(string route)
    {
        var id = await PrepareAsync(route);
        using var request = Request(route, id);
        request.Headers.Add("X-Changed-By", "alice@example.org (ops) " + new string('x', 231));
        request.Headers.Add("X-Source", "prolog");
        request.Headers.Add("X-Correlation-Id", Guid.NewGuid().ToString());
        Assert.Equal(255, request.Headers.GetValues("X-Changed-By").Single().Length);

        using var response = await Client.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, $"{route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (route == "batch")
        {
            Assert.Equal(1, (await response.ReadJsonAsync()).GetProperty("accepted").GetInt64());
        }
    }
}

public sealed class SqliteWriteHeaderTests(ServiceFixture<SqliteBackend> service) : WriteHeaderTests<SqliteBackend>(service);

public sealed class PostgresWriteHeaderTests(ServiceFixture<PostgresBackend> service) : WriteHeaderTests<PostgresBackend>(service);
