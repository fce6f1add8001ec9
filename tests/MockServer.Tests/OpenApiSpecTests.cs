using HpcJobs.MockServer.Spec;
using Microsoft.OpenApi;

namespace HpcJobs.MockServer.Tests;

public sealed class OpenApiSpecTests
{
    private const string Head = """
        openapi: 3.0.3
        info: { title: t, version: 0.1.0 }
        paths:
          /v1/things:
            get:
              operationId: getThings
              responses:
                '200':
                  description: x
                  content:
                    application/json:
                      schema: { type: object }
                      example:

        """;

    [Fact]
    public void OpenApiSpec_Parse_TypesExampleScalarsByTheCoreSchema()
    {
        var spec = OpenApiSpec.Parse(Head + """
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
            """);

        var node = spec.Operation("getThings").Success.Content[0].Examples[0].Value!;

        Assert.Equal("""{"quoted":"12345","doubleQuoted":"7","version":"0.1.0","whole":16384,"big":1099511627776,"fraction":87.5,"negative":-2147483648,"yes":true,"nothing":null,"tilde":null,"word":"running","block":"line one\nline two\n","list":["node-01",3]}""", node.ToJsonString());
        Assert.Equal("0.1.0", spec.Version);
    }

    [Theory]
    [InlineData("              a: 1\n              a: 2\n", "duplicate key")]
    [InlineData("              a: [1\n", "parse the YAML")]
    public void OpenApiSpec_Parse_Rejects_WhatJsonCannotSay(string example, string why)
    {
        var error = Assert.ThrowsAny<FormatException>(() => OpenApiSpec.Parse(Head + example));

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
        Assert.Same(spec.Document.Components!.Responses!["Other"], ((OpenApiResponseReference)operation.Success.Response).RecursiveTarget);
        Assert.Equal("""{"n":1}""", operation.Success.Content[0].Examples[0].Value!.ToJsonString());
        Assert.Equal("GET", spec.Paths[0].Allow);
    }
}
