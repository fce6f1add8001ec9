using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;
using Microsoft.OpenApi;

namespace HpcJobs.MockServer.Tests;

/// <summary>The mock server against the document it serves.</summary>
public sealed class MockServerTests(MockServerFactory factory) : IClassFixture<MockServerFactory>
{
    private static OpenApiSpec Spec => SpecFile.Spec;

    private HttpClient Client { get; } = factory.CreateClient();

    public static TheoryData<string> Operations() => [.. Spec.Operations.Select(op => op.OperationId)];

    public static IEnumerable<object[]> RequestExamples() =>
        Spec.Operations.SelectMany(op => op.RequestContent.SelectMany(m => m.Examples.Select(e => new object[] { op.OperationId, e.Name })));

    public static IEnumerable<object[]> PathExamples() =>
        Spec.Operations.SelectMany(op => op.Parameters.Where(p => p.In == ParameterLocation.Path)
            .SelectMany(p => SpecRequests.Examples(p).Select(e => new object[] { op.OperationId, e.Value!.GetValue<string>() })));

    public static IEnumerable<object[]> DocumentedStatuses() =>
        Spec.Operations.SelectMany(op => op.Responses.Select(r => new object[] { op.OperationId, r.Status }));

    public static IEnumerable<object[]> NamedResponseExamples() =>
        Spec.Operations.SelectMany(op => op.Responses.SelectMany(r => r.Content.SelectMany(m => m.Examples.Select(e => new object[] { op.OperationId, r.Status, e.Name }))));

    public static TheoryData<string> Paths() => [.. Spec.Paths.Select(p => p.Template)];

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task MockServer_ServesEveryOperation(string operationId)
    {
        var operation = Spec.Operation(operationId);

        using var response = await Client.SendAsync(SpecRequests.Request(operation));

        var success = operation.Success;
        await AssertAnswersAsync(response, success, success.Content.FirstOrDefault()?.Examples.FirstOrDefault());
        foreach (var header in success.Headers.Where(h => h.Examples.Count > 0))
        {
            Assert.True(response.Headers.TryGetValues(header.Name, out var values), $"{operation}: no {header.Name} header");
            Assert.Equal(header.Examples[0].Value!.GetValue<string>(), Assert.Single(values));
        }
    }

    [Theory]
    [MemberData(nameof(RequestExamples))]
    public async Task MockServer_AcceptsEveryRequestExample(string operationId, string example)
    {
        var operation = Spec.Operation(operationId);

        using var response = await Client.SendAsync(SpecRequests.Request(operation, example));

        Assert.True(
            (int)response.StatusCode == Status(operation.Success),
            $"{operation} rejected its own request example '{example}': {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [MemberData(nameof(PathExamples))]
    public async Task MockServer_AcceptsEveryPathParameterExample(string operationId, string id)
    {
        var operation = Spec.Operation(operationId);
        using var request = SpecRequests.Request(operation);
        request.RequestUri = new Uri(operation.Path.Replace("{id}", Uri.EscapeDataString(id), StringComparison.Ordinal), UriKind.Relative);

        using var response = await Client.SendAsync(request);

        Assert.Equal(Status(operation.Success), (int)response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(DocumentedStatuses))]
    public async Task MockServer_PreferCode_SelectsTheFirstExampleOfThatStatus(string operationId, string status)
    {
        var operation = Spec.Operation(operationId);
        using var request = SpecRequests.Request(operation);
        request.Headers.TryAddWithoutValidation("Prefer", $"code={status}");

        using var response = await Client.SendAsync(request);

        var documented = operation.Responses.Single(r => r.Status == status);
        await AssertAnswersAsync(response, documented, documented.Content.FirstOrDefault()?.Examples.FirstOrDefault());
    }

    [Theory]
    [MemberData(nameof(NamedResponseExamples))]
    public async Task MockServer_PreferExample_SelectsTheNamedExample(string operationId, string status, string example)
    {
        var operation = Spec.Operation(operationId);
        using var request = SpecRequests.Request(operation);
        request.Headers.TryAddWithoutValidation("Prefer", $"code={status}, example={example}");

        using var response = await Client.SendAsync(request);

        var documented = operation.Responses.Single(r => r.Status == status);
        await AssertAnswersAsync(response, documented, documented.Content.SelectMany(m => m.Examples).Single(e => e.Name == example));
    }

    [Fact]
    public async Task MockServer_PreferExampleAlone_SearchesTheSuccessResponseFirstThenTheOthers()
    {
        var getJob = Spec.Operation("getJob");
        using var completed = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs/12345");
        completed.Headers.TryAddWithoutValidation("Prefer", "example=completed");
        using var notFound = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs/12345");
        notFound.Headers.TryAddWithoutValidation("Prefer", "example=\"notFound\"");

        using var first = await Client.SendAsync(completed);
        using var second = await Client.SendAsync(notFound);

        await AssertAnswersAsync(first, getJob.Success, getJob.Success.Content[0].Examples.Single(e => e.Name == "completed"));
        var documented = getJob.Responses.Single(r => r.Status == "404");
        await AssertAnswersAsync(second, documented, documented.Content[0].Examples[0]);
    }

    [Theory]
    [InlineData("code=418", "status 418 is not documented")]
    [InlineData("example=nothingLikeThis", "no example named 'nothingLikeThis'")]
    [InlineData("code=404, example=completed", "no example named 'completed'")]
    public async Task MockServer_UnmetPreference_AnswersInvalidRequest(string prefer, string why)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs/12345");
        request.Headers.TryAddWithoutValidation("Prefer", prefer);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("invalid_request", body["error"]!.GetValue<string>());
        Assert.Contains(why, body["details"]!["Prefer"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ErrorScenarios.Keys), MemberType = typeof(ErrorScenarios))]
    public async Task MockServer_InvalidRequest_AnswersTheDocumentedErrorExample(string key)
    {
        var scenario = ErrorScenarios.Named(key);

        using var response = await Client.SendAsync(scenario.Request());

        Assert.Equal(int.Parse(scenario.Status, CultureInfo.InvariantCulture), (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        AssertJsonEqual(scenario.Expected(), await response.Content.ReadAsStringAsync(), key);
    }

    [Fact]
    public async Task MockServer_InvalidBody_AnswersTheContract400()
    {
        using var response = await Client.PostAsync("/v1/jobs", Json("""{"id":"a/b","user":"alice","nodes":"node-01","cpu_usage":"ignored"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertJsonEqual(
            JsonNode.Parse("""
                {"error":"validation_error",
                 "message":"id must be printable and contain no '/' or control characters; nodes must be an array of 1 to 4096 node names",
                 "details":{"id":"must be printable and contain no '/' or control characters","nodes":"must be an array of 1 to 4096 node names"}}
                """),
            await response.Content.ReadAsStringAsync(),
            "POST /v1/jobs");
        await AssertConformsAsync(response, Spec.Operation("createJob").Responses.Single(r => r.Status == "400"));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task MockServer_WrongMethod_Answers405WithAllow(string template)
    {
        var path = Spec.Paths.Single(p => p.Template == template);
        var method = new[] { "PUT", "PATCH", "DELETE", "POST", "GET" }.First(m => path.Operations.All(op => op.Method.Method != m));
        var url = template.Replace("{id}", "12345", StringComparison.Ordinal);

        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(path.Operations.Select(op => op.Method.Method).Order(), response.Content.Headers.Allow.Order());
        var example = Spec.ComponentResponse("MethodNotAllowed", "405").MediaTypeFor("application/json")!.Examples[0].Value;
        AssertJsonEqual(example, await response.Content.ReadAsStringAsync(), $"{method} {url}");
    }

    [Theory]
    [InlineData("/v1/nothing")]
    [InlineData("/v1/jobs/12345/metrics/extra")]
    [InlineData("/index.html")]
    [InlineData("/")]
    public async Task MockServer_UnknownPath_Answers404(string url)
    {
        using var response = await Client.GetAsync(url);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        AssertJsonEqual(JsonNode.Parse("""{"error":"not_found","message":"no such route"}"""), await response.Content.ReadAsStringAsync(), url);
    }

    [Fact]
    public async Task MockServer_TrailingSlash_IsTolerated()
    {
        using var response = await Client.GetAsync("/v1/jobs/");

        await AssertAnswersAsync(response, Spec.Operation("listJobs").Success, Spec.Operation("listJobs").Success.Content[0].Examples[0]);
    }

    [Fact]
    public void MockServer_KnowsTheServiceChecksOfEveryOperation()
    {
        // A new operation needs its validators in RequestChecks; a removed one leaves a stale entry.
        Assert.Equal(Spec.Operations.Select(op => op.OperationId).Order(), RequestChecks.KnownOperations.Order());
    }

    private static async Task AssertAnswersAsync(HttpResponseMessage response, SpecResponse documented, SpecExample? example)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(Status(documented) == (int)response.StatusCode, $"expected {documented.Status}, got {(int)response.StatusCode}: {body}");
        if (documented.Content.Count == 0)
        {
            Assert.Empty(body);
            return;
        }

        var media = example is null ? documented.Content[0] : documented.Content.Single(m => m.Examples.Contains(example));
        Assert.Equal(media.Name, response.Content.Headers.ContentType?.MediaType);
        if (media.IsJson)
        {
            AssertJsonEqual(example?.Value, body, $"{documented.Status} {media.Name}");
        }
        else
        {
            Assert.Equal(example?.Value?.GetValue<string>(), body);
        }

        await AssertConformsAsync(response, documented);
    }

    /// <summary>What the mock sends is itself held to the document, like the service's responses.</summary>
    private static async Task AssertConformsAsync(HttpResponseMessage response, SpecResponse documented)
    {
        var media = documented.MediaTypeFor(response.Content.Headers.ContentType?.ToString());
        Assert.NotNull(media);
        var body = await response.Content.ReadAsStringAsync();
        var value = media.IsJson ? JsonNode.Parse(body) : JsonValue.Create(body);
        Assert.Empty(new SchemaValidator(SpecFile.Root, SchemaOptions.Responses).Validate(value, media.Schema, $"{documented.Status} {media.Name}"));
    }

    private static void AssertJsonEqual(JsonNode? expected, string actual, string context)
    {
        var normalized = expected is null ? null : JsonNode.Parse(expected.ToJsonString());
        var parsed = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(normalized, parsed), $"{context}:\nexpected {normalized?.ToJsonString(SpecRequests.Readable)}\nactual   {actual}");
    }

    private static int Status(SpecResponse response) => int.Parse(response.Status, CultureInfo.InvariantCulture);

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
