using System.Net;
using HpcJobs.Api;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Bench.Baseline;

// The benchmark's yardstick: bare Kestrel that reads and validates the same sample JSON with the
// service's own parser and answers the same 201 body, but stores nothing and has no Orleans.
// HOP=grain adds, after parsing, one call to a no-op grain of a co-hosted silo, keyed by the route's
// job id: the floor of "Kestrel + parse + one grain call". HOP=grain-sqlite has that grain await the
// commit of its sample by a shared group-commit SQLite writer (keyed samples table, jobs row update;
// a fresh file at SQLITE_PATH, jobs bench-0 .. bench-(JOBS-1)); HOP=grain-postgres, of its durable
// commit to PostgreSQL by one shared writer (the service's schema in the empty database at
// PG_CONNECTION, binary COPY and the jobs rows' update). See bench/limits.sh.
var hop = HopSetup.FromEnvironment();
var port = int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "18680");
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
builder.Services.AddJobsApi();
builder.Services.AddSingleton(TimeProvider.System);
if (hop != Hop.None)
{
    builder.UseHopSilo(hop, port);
}

var app = builder.Build();
if (hop == Hop.None)
{
    app.MapPost("/v1/jobs/{id}/metrics", async (string id, HttpRequest request, TimeProvider time) =>
    {
        var (document, error) = await RequestBody.ReadAsync(request, Limits.DefaultMaxBodyBytes);
        using var body = document;
        if (body is null || SampleRequest.Parse(body.RootElement, time.GetUtcNow(), out error) is not { } sample)
        {
            return (IResult)ApiErrors.From(error!);
        }

        return TypedResults.Created($"/v1/jobs/{id}/metrics", SampleResponse.From(id, sample));
    });
}
else
{
    app.MapPost("/v1/jobs/{id}/metrics", async (string id, HttpRequest request, TimeProvider time, IGrainFactory grains) =>
    {
        var (document, error) = await RequestBody.ReadAsync(request, Limits.DefaultMaxBodyBytes);
        using var body = document;
        if (body is null || SampleRequest.Parse(body.RootElement, time.GetUtcNow(), out error) is not { } sample)
        {
            return (IResult)ApiErrors.From(error!);
        }

        await grains.GetGrain<IHopGrain>(id).RecordAsync([sample]);
        return TypedResults.Created($"/v1/jobs/{id}/metrics", SampleResponse.From(id, sample));
    });
}

app.Run();
