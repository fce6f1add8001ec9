using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer;

/// <summary>
/// One route per operation of the document. A valid request is answered with a documented
/// example (see <see cref="ResponseSelection"/>); an invalid one with the service's error body; a
/// known path with another method with 405 and <c>Allow</c>; any other path with 404.
/// </summary>
public static partial class MockEndpoints
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Headers the mock computes rather than copies from an example.</summary>
    private static readonly HashSet<string> Computed = new(StringComparer.OrdinalIgnoreCase)
    {
        "Allow", "Content-Type", "Content-Length", "Transfer-Encoding",
    };

    public static IEndpointRouteBuilder MapOpenApiMock(this IEndpointRouteBuilder app, OpenApiSpec spec)
    {
        foreach (var path in spec.Paths)
        {
            var template = RouteTemplate(path.Template);
            foreach (var operation in path.Operations)
            {
                var check = RequestChecks.For(operation);
                RequestDelegate serve = context => ServeAsync(context, path, operation, check);
                app.MapMethods(template, [operation.Method.Method], serve).WithDisplayName(operation.ToString());
            }

            // Ordered after the operations: reached only by the methods the path does not serve.
            RequestDelegate notAllowed = context => MethodNotAllowedAsync(context, path);
            app.Map(template, notAllowed).WithOrder(1).WithDisplayName($"405 {path.Template}");
        }

        RequestDelegate notFound = context => ApiErrors.WriteAsync(context, 404, ErrorCodes.NotFound, "no such route");
        app.MapFallback("{**path}", notFound);
        return app;
    }

    /// <summary>An OpenAPI path template as a route template; both write parameters as <c>{name}</c>.</summary>
    public static string RouteTemplate(string openApiPath)
    {
        foreach (Match parameter in Parameter().Matches(openApiPath))
        {
            if (!RouteName().IsMatch(parameter.Groups[1].Value))
            {
                throw new FormatException($"path parameter '{parameter.Groups[1].Value}' in '{openApiPath}' cannot be a route parameter name");
            }
        }

        return openApiPath;
    }

    private static async Task ServeAsync(HttpContext context, SpecPath path, SpecOperation operation, RequestCheck check)
    {
        if (await check(context) is { } invalid)
        {
            await ApiErrors.From(invalid).ExecuteAsync(context);
            return;
        }

        var preference = Preference.Parse(context.Request.Headers["Prefer"]);
        if (ResponseSelection.Select(operation, preference, out var unmet) is not { } selected)
        {
            await ApiErrors.From(unmet!).ExecuteAsync(context);
            return;
        }

        await WriteAsync(context, path, selected);
    }

    private static Task WriteAsync(HttpContext context, SpecPath path, SelectedResponse selected)
    {
        var response = context.Response;
        response.StatusCode = StatusCode(selected.Response.Status);
        if (response.StatusCode == 405)
        {
            response.Headers.Allow = path.Allow;
        }

        foreach (var header in selected.Response.Headers.Where(h => !Computed.Contains(h.Name)))
        {
            var value = header.Examples.Count > 0 ? header.Examples[0].Value : SchemaExample.From(header.Schema);
            if (value is JsonValue scalar)
            {
                response.Headers[header.Name] = scalar.TryGetValue<string>(out var text) ? text : scalar.ToJsonString(Json);
            }
        }

        if (selected.MediaType is not { } media)
        {
            return Task.CompletedTask;
        }

        var body = selected.Example is { } example ? example.Value : SchemaExample.From(media.Schema);
        response.ContentType = media.Name;
        return response.WriteAsync(
            !media.IsJson && body is JsonValue plain && plain.TryGetValue<string>(out var raw) ? raw : body?.ToJsonString(Json) ?? "null",
            context.RequestAborted);
    }

    private static Task MethodNotAllowedAsync(HttpContext context, SpecPath path)
    {
        context.Response.Headers.Allow = path.Allow;
        return ApiErrors.WriteAsync(context, 405, ErrorCodes.MethodNotAllowed, "method not allowed on this route");
    }

    /// <summary><c>404</c> as is, a range such as <c>4XX</c> as its first code, <c>default</c> as 200.</summary>
    private static int StatusCode(string status) =>
        int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code
        : status.Length == 3 && char.IsAsciiDigit(status[0]) ? (status[0] - '0') * 100
        : 200;

    [GeneratedRegex(@"\{([^}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex RouteName();
}
