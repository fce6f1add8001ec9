using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace HpcJobs.MockServer.Tests;

/// <summary>config/openapi.yaml on its own: a valid document whose every example is a valid instance of its schema.</summary>
public sealed class OpenApiDocumentTests
{
    private static OpenApiSpec Spec => SpecFile.Spec;

    [Fact]
    public void OpenApiDocument_Examples_ValidateAgainstTheirSchemas()
    {
        var examples = SpecExamples.All(SpecFile.Root);
        var failures = new List<string>();
        foreach (var example in examples)
        {
            var validator = new SchemaValidator(SpecFile.Root, example.Options);
            failures.AddRange(validator.Validate(example.Value, example.Schema, example.SchemaLocation)
                .Select(error => $"{example.Location}: {error}"));
        }

        Assert.True(failures.Count == 0, $"{failures.Count} example errors:\n" + string.Join("\n", failures));

        // Every kind of example was found, so the walk itself did not go blind.
        Assert.True(examples.Count >= 100, $"only {examples.Count} examples found");
        foreach (var kind in new[] { "/parameters/", "/requestBody/", "/responses/", "/headers/", "#/components/schemas/" })
        {
            Assert.Contains(examples, e => e.Location.Contains(kind, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void OpenApiDocument_ComponentExamples_AreAllUsed()
    {
        // A component example nobody references has no schema to be checked against.
        var used = SpecExamples.All(SpecFile.Root).Select(e => e.Location).ToHashSet(StringComparer.Ordinal);
        var unused = (SpecFile.Root["components"]?["examples"] as JsonObject ?? [])
            .Select(e => $"#/components/examples/{SpecExamples.Escape(e.Key)}/value")
            .Where(location => !used.Contains(location))
            .ToList();

        Assert.Empty(unused);
    }

    [Fact]
    public async Task OpenApiDocument_Parses_WithoutErrorsOrRuleViolations()
    {
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        await using var stream = File.OpenRead(SpecFile.Path);

        var result = await OpenApiDocument.LoadAsync(stream, "yaml", settings);

        Assert.NotNull(result.Document);
        Assert.Empty(result.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []);
        Assert.Empty(result.Diagnostic?.Warnings.Select(e => $"{e.Pointer}: {e.Message}") ?? []);
        var violations = result.Document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? [];
        Assert.Empty(violations.Select(e => $"{e.Pointer}: {e.Message}"));
        Assert.Equal(Spec.Operations.Count(), result.Document.Paths.Sum(path => path.Value.Operations?.Count ?? 0));
    }

    [Fact]
    public void OpenApiDocument_EveryResponseWithContent_HasAnExample()
    {
        var missing = Spec.Operations
            .SelectMany(op => op.Responses.SelectMany(r => r.Content.Where(m => m.Examples.Count == 0).Select(m => $"{op} {r.Status} {m.Name}")))
            .ToList();

        Assert.Empty(missing);
    }

    [Fact]
    public void OpenApiDocument_EveryOperation_DocumentsTheContractErrors()
    {
        var missing = new List<string>();
        foreach (var op in Spec.Operations)
        {
            var expected = new List<string> { "500" };
            if (op.RequestBody is not null)
            {
                expected.AddRange(["400", "413", "415"]);
            }

            // A job id names something that may not exist (404); a node name is only a name (a heartbeat of any node is taken).
            if (op.Parameters.Any(p => p.In == ParameterLocation.Path))
            {
                expected.Add("400");
            }

            if (op.Parameters.Any(p => p.In == ParameterLocation.Path && p.Name == "id"))
            {
                expected.Add("404");
            }

            if (op.Parameters.Any(p => p.In == ParameterLocation.Query))
            {
                expected.Add("400");
            }

            missing.AddRange(expected.Distinct().Where(status => op.ResponseFor(int.Parse(status)) is null).Select(status => $"{op} lacks {status}"));
            missing.AddRange(op.Responses
                .Where(r => r.Status[0] is '4' or '5' && r.Content.All(m => !IsError(op, r, m)))
                .Select(r => $"{op} {r.Status} does not use the Error schema"));
        }

        Assert.Empty(missing);

        // /v1/health and /v1/health/ready answer 503 with a Health body on purpose: the documented exceptions.
        static bool IsError(SpecOperation op, SpecResponse response, SpecMediaType media) =>
            (media.Schema as OpenApiSchemaReference)?.Reference.ReferenceV3 switch
            {
                "#/components/schemas/Error" => true,
                "#/components/schemas/Health" => op.OperationId is "getHealth" or "getHealthReady" && response.Status == "503",
                _ => false,
            };
    }

    [Fact]
    public void OpenApiDocument_OperationIds_AreUnique()
    {
        var duplicates = Spec.Operations.GroupBy(op => op.OperationId).Where(g => g.Count() > 1).Select(g => g.Key);

        Assert.Empty(duplicates);
    }
}
