using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer.Tests;

public sealed class YamlJsonTests
{
    [Fact]
    public void YamlJson_Parse_TypesScalarsByTheCoreSchema()
    {
        var node = YamlJson.Parse("""
            quoted: '12345'
            doubleQuoted: "7"
            version: 0.1.0
            whole: 16384
            big: 1099511627776
            fraction: 87.5
            negative: -2147483648
            yes: true
            nothing: null
            tilde: ~
            word: running
            block: |
              line one
              line two
            list: [node-01, 3]
            """)!;

        Assert.Equal("""{"quoted":"12345","doubleQuoted":"7","version":"0.1.0","whole":16384,"big":1099511627776,"fraction":87.5,"negative":-2147483648,"yes":true,"nothing":null,"tilde":null,"word":"running","block":"line one\nline two\n","list":["node-01",3]}""", node.ToJsonString());
    }

    [Theory]
    [InlineData("a: 1\na: 2\n", "duplicate key")]
    [InlineData("a: .inf\n", "no JSON representation")]
    [InlineData("a: [1\n", "not valid YAML")]
    public void YamlJson_Parse_Rejects_WhatJsonCannotSay(string yaml, string why)
    {
        var error = Assert.ThrowsAny<FormatException>(() => YamlJson.Parse(yaml));

        Assert.Contains(why, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void OpenApiSpec_Resolve_FollowsReferenceChains()
    {
        var spec = OpenApiSpec.Parse("""
            openapi: 3.0.3
            info: { title: t, version: '1' }
            paths:
              /v1/things/{id}:
                parameters:
                  - $ref: '#/components/parameters/Id'
                get:
                  operationId: getThing
                  responses:
                    '200':
                      $ref: '#/components/responses/Thing'
            components:
              parameters:
                Id: { name: id, in: path, required: true, schema: { type: string }, example: a }
              responses:
                Thing:
                  $ref: '#/components/responses/Other'
                Other:
                  description: x
                  content:
                    application/json:
                      schema: { type: object }
                      examples:
                        one: { value: { n: 1 } }
            """);

        var operation = spec.Operation("getThing");

        Assert.Equal("id", Assert.Single(operation.Parameters).Name);
        Assert.Equal("#/components/responses/Other", operation.Success.Location);
        Assert.Equal("""{"n":1}""", operation.Success.Content[0].Examples[0].Value!.ToJsonString());
        Assert.Equal("GET", spec.Paths[0].Allow);
    }
}
