using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer.Tests;

/// <summary>The conformance check itself fails on drift, so a green real-server run means something.</summary>
public sealed class SpecConformanceTests
{
    private static OpenApiSpec Spec => SpecFile.Spec;

    private static readonly SpecConformance Conformance = new(Spec);

    private static string Job => Spec.Operation("getJob").Success.Content[0].Examples[0].Value!.ToJsonString();

    [Fact]
    public void SpecConformance_Accepts_TheDocumentsOwnExample() =>
        Assert.Empty(Conformance.Check(Spec.Operation("getJob"), Response(200, "application/json; charset=utf-8", Job)));

    [Fact]
    public void SpecConformance_Rejects_AnUndocumentedStatus()
    {
        var problems = Conformance.Check(Spec.Operation("getJob"), Response(409, "application/json", """{"error":"conflict","message":"x"}"""));

        Assert.Contains(problems, p => p.Contains("status 409 is not documented", StringComparison.Ordinal));
    }

    [Fact]
    public void SpecConformance_Rejects_AnUndocumentedField()
    {
        var job = JsonNode.Parse(Job)!.AsObject();
        job["queue_position"] = 3;

        var problems = Conformance.Check(Spec.Operation("getJob"), Response(200, "application/json", job.ToJsonString()));

        Assert.Contains(problems, p => p.Contains("property 'queue_position' is not documented", StringComparison.Ordinal));
    }

    [Fact]
    public void SpecConformance_Rejects_ANullWhereTheServiceMustOmit()
    {
        var job = JsonNode.Parse(Job)!.AsObject();
        job["end_time"] = null;

        var problems = Conformance.Check(Spec.Operation("getJob"), Response(200, "application/json", job.ToJsonString()));

        Assert.Contains(problems, p => p.Contains("$.end_time: null", StringComparison.Ordinal));
    }

    [Fact]
    public void SpecConformance_Rejects_AnUndocumentedMediaTypeAndAMissingHeader()
    {
        var wrongType = Conformance.Check(Spec.Operation("getJob"), Response(200, "text/html", Job));
        var noLocation = Conformance.Check(Spec.Operation("createJob"), Response(201, "application/json", Job));

        Assert.Contains(wrongType, p => p.Contains("Content-Type 'text/html' is not documented", StringComparison.Ordinal));
        Assert.Contains(noLocation, p => p.Contains("documented header Location is missing", StringComparison.Ordinal));
    }

    [Fact]
    public void SpecConformance_Rejects_ABodyWhereNoneIsDocumented() =>
        Assert.Contains(
            Conformance.Check(Spec.Operation("deleteJob"), Response(204, null, "{}")),
            p => p.Contains("documents no body", StringComparison.Ordinal));

    [Fact]
    public void SpecConformance_Rejects_AWrongAllowHeader()
    {
        var path = Spec.Paths.Single(p => p.Template == "/v1/jobs/{id}");
        var response = Response(405, "application/json", """{"error":"method_not_allowed","message":"method not allowed on this route"}""", ("Allow", "GET, DELETE"));

        Assert.Contains(Conformance.CheckMethodNotAllowed(path, "PUT", response), p => p.Contains("Allow is 'GET, DELETE'", StringComparison.Ordinal));
    }

    private static ObservedResponse Response(int status, string? contentType, string body, params (string Name, string Value)[] headers) =>
        new(status, contentType, body, headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase));
}
