using System.Net;
using HpcJobs.Api;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;

// The benchmark's yardstick: bare Kestrel that reads and validates the same sample JSON with the
// service's own parser and answers the same 201 body, but stores nothing and has no Orleans.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "18680")));
builder.Services.AddJobsApi();
builder.Services.AddSingleton(TimeProvider.System);
var app = builder.Build();
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
app.Run();
