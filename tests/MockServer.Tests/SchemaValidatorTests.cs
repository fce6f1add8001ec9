using System.Text.Json.Nodes;

namespace HpcJobs.MockServer.Tests;

/// <summary>The validator rejects what it must, so that the conformance tests cannot pass vacuously.</summary>
public sealed class SchemaValidatorTests
{
    private static readonly JsonNode Document = JsonNode.Parse("""
        {
          "components": {
            "schemas": {
              "State": { "type": "string", "enum": ["pending", "running"] },
              "Job": {
                "type": "object",
                "required": ["id", "count", "state"],
                "properties": {
                  "id": { "type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[^/]+$" },
                  "count": { "type": "integer", "format": "int32", "minimum": 0, "maximum": 10 },
                  "ratio": { "type": "number", "minimum": 0, "maximum": 100 },
                  "state": { "$ref": "#/components/schemas/State" },
                  "at": { "type": "string", "format": "date-time" },
                  "nodes": { "type": "array", "minItems": 1, "maxItems": 2, "items": { "type": "string" } },
                  "note": { "type": "string", "nullable": true },
                  "extra": { "type": "object", "additionalProperties": true },
                  "labels": { "type": "object", "additionalProperties": { "type": "string" } }
                }
              }
            }
          }
        }
        """)!;

    private static readonly JsonNode JobRef = JsonNode.Parse("""{ "$ref": "#/components/schemas/Job" }""")!;

    private static IReadOnlyList<string> Validate(string json, SchemaOptions? options = null) =>
        new SchemaValidator(Document, options).Validate(JsonNode.Parse(json), JobRef);

    [Fact]
    public void SchemaValidator_Accepts_AConformingValue()
    {
        var errors = Validate("""
            {"id":"a_1","count":3,"ratio":12.5,"state":"running","at":"2026-01-15T10:00:00.5+02:00","nodes":["n1"],
             "note":null,"extra":{"anything":[1]},"labels":{"k":"v"}}
            """);

        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("""{"id":7,"count":3,"state":"running"}""", "$.id")]
    [InlineData("""{"id":"a","count":"3","state":"running"}""", "$.count")]
    [InlineData("""{"id":"a","count":3,"state":"running","ratio":"high"}""", "$.ratio")]
    [InlineData("""{"id":"a","count":3,"state":"running","nodes":"n1"}""", "$.nodes")]
    [InlineData("""{"id":"a","count":3,"state":"running","extra":[]}""", "$.extra")]
    [InlineData("""[1]""", "$")]
    public void SchemaValidator_Rejects_WrongTypes(string json, string where) =>
        AssertRejected(Validate(json), where, "is not of type");

    [Fact]
    public void SchemaValidator_Rejects_AFractionWhereAnIntegerIsRequired() =>
        AssertRejected(Validate("""{"id":"a","count":1.5,"state":"running"}"""), "$.count", "is not of type integer");

    [Fact]
    public void SchemaValidator_Rejects_MissingRequiredFields()
    {
        var errors = Validate("""{"id":"a"}""");

        AssertRejected(errors, "$", "required property 'count'");
        AssertRejected(errors, "$", "required property 'state'");
    }

    [Theory]
    [InlineData("""{"id":"a","count":-1,"state":"running"}""", "$.count", "below minimum")]
    [InlineData("""{"id":"a","count":11,"state":"running"}""", "$.count", "above maximum")]
    [InlineData("""{"id":"a","count":3,"state":"running","ratio":100.01}""", "$.ratio", "above maximum")]
    [InlineData("""{"id":"a","count":3000000000,"state":"running"}""", "$.count", "32-bit")]
    public void SchemaValidator_Rejects_OutOfRangeNumbers(string json, string where, string why) =>
        AssertRejected(Validate(json), where, why);

    [Fact]
    public void SchemaValidator_Rejects_AValueOutsideTheEnum_ThroughARef() =>
        AssertRejected(Validate("""{"id":"a","count":3,"state":"exploded"}"""), "$.state", "is not one of");

    [Theory]
    [InlineData("""{"id":"","count":3,"state":"running"}""", "$.id", "shorter than minLength")]
    [InlineData("""{"id":"abcdef","count":3,"state":"running"}""", "$.id", "longer than maxLength")]
    [InlineData("""{"id":"a/b","count":3,"state":"running"}""", "$.id", "does not match pattern")]
    [InlineData("""{"id":"a","count":3,"state":"running","nodes":[]}""", "$.nodes", "fewer than minItems")]
    [InlineData("""{"id":"a","count":3,"state":"running","nodes":["a","b","c"]}""", "$.nodes", "more than maxItems")]
    [InlineData("""{"id":"a","count":3,"state":"running","nodes":[1]}""", "$.nodes[0]", "is not of type string")]
    [InlineData("""{"id":"a","count":3,"state":"running","labels":{"k":1}}""", "$.labels.k", "is not of type string")]
    [InlineData("""{"id":"a","count":3,"state":null}""", "$.state", "null where string is required")]
    public void SchemaValidator_Rejects_BrokenStringsArraysAndNulls(string json, string where, string why) =>
        AssertRejected(Validate(json), where, why);

    [Theory]
    [InlineData("2026-01-15 10:00:00Z")]
    [InlineData("2026-01-15T10:00Z")]
    [InlineData("2026-02-30T10:00:00Z")]
    [InlineData("2026-01-15T24:00:00Z")]
    [InlineData("2026-01-15T10:00:00")]
    [InlineData("2026-01-15T10:00:00+0200")]
    [InlineData("yesterday")]
    public void SchemaValidator_Rejects_TimesThatAreNotRfc3339(string time) =>
        AssertRejected(Validate($$"""{"id":"a","count":3,"state":"running","at":"{{time}}"}"""), "$.at", "not an RFC 3339 date-time");

    [Theory]
    [InlineData("2026-01-15T10:00:00+02:00")]
    [InlineData("2026-01-15T10:00:00.1234567Z")]
    [InlineData("2026-01-15T10:00:00.000000Z")]
    [InlineData("2026-01-15t10:00:00z")]
    public void SchemaValidator_RejectsTimesTheServiceMustNotWrite_WhenContractTimesAreOn(string time)
    {
        var json = $$"""{"id":"a","count":3,"state":"running","at":"{{time}}"}""";

        Assert.Empty(Validate(json));
        AssertRejected(Validate(json, SchemaOptions.Responses), "$.at", "as the service writes times");
    }

    [Fact]
    public void SchemaValidator_RejectsUndocumentedFields_OnlyWhenObjectsAreClosed()
    {
        const string json = """{"id":"a","count":3,"state":"running","surprise":1,"extra":{"free":true}}""";

        Assert.Empty(Validate(json));
        var errors = Validate(json, SchemaOptions.Responses);
        AssertRejected(errors, "$", "property 'surprise' is not documented");
        Assert.Single(errors);
    }

    [Fact]
    public void SchemaValidator_Throws_OnAKeywordItDoesNotKnow()
    {
        var schema = JsonNode.Parse("""{ "type": "string", "const": "x" }""");

        var error = Assert.Throws<NotSupportedException>(() => new SchemaValidator(Document).Validate(JsonValue.Create("y"), schema));
        Assert.Contains("const", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SchemaValidator_Applies_Combinators()
    {
        var validator = new SchemaValidator(Document);
        var oneOf = JsonNode.Parse("""{ "oneOf": [ { "type": "integer" }, { "type": "number" } ] }""");
        var anyOf = JsonNode.Parse("""{ "anyOf": [ { "type": "string" }, { "type": "boolean" } ] }""");

        Assert.Empty(validator.Validate(JsonValue.Create(1.5), oneOf));
        AssertRejected(validator.Validate(JsonValue.Create(2), oneOf), "$", "matches 2 of oneOf");
        AssertRejected(validator.Validate(JsonValue.Create(2), anyOf), "$", "matches none of anyOf");
    }

    [Fact]
    public void SchemaValidator_RejectsABrokenJob_AgainstTheRealSpec()
    {
        var spec = SpecFile.Spec;
        var validator = new SchemaValidator(SpecFile.Root, SchemaOptions.Responses);
        var job = spec.Operation("getJob").Success.Content[0].Examples[0].Value!.DeepClone().AsObject();
        var schema = JsonNode.Parse("""{ "$ref": "#/components/schemas/Job" }""");
        Assert.Empty(validator.Validate(job, schema));

        job["cpu_usage"] = 100.5;
        job["state"] = "zombie";
        job.Remove("user");
        job["runtimeSeconds"] = 1;
        var errors = validator.Validate(job, schema);

        AssertRejected(errors, "$.cpu_usage", "above maximum");
        AssertRejected(errors, "$.state", "is not one of");
        AssertRejected(errors, "$", "required property 'user'");
        AssertRejected(errors, "$", "property 'runtimeSeconds' is not documented");
    }

    private static void AssertRejected(IReadOnlyList<string> errors, string where, string why) =>
        Assert.True(
            errors.Any(e => e.StartsWith(where + ":", StringComparison.Ordinal) && e.Contains(why, StringComparison.Ordinal)),
            $"expected an error at {where} containing '{why}', got: [{string.Join(" | ", errors)}]");
}
