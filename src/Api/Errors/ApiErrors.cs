using HpcJobs.Api.Contracts;
using HpcJobs.Api.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HpcJobs.Api.Errors;

/// <summary>Every error response of the service, in the contract's shape.</summary>
public static class ApiErrors
{
    public static JsonHttpResult<ErrorResponse> From(RequestError error) =>
        Create(error.Status, error.Code, error.Message, error.Details);

    public static JsonHttpResult<ErrorResponse> NotFound(string message) => Create(404, ErrorCodes.NotFound, message);

    /// <summary>403 <c>forbidden</c>: the caller is known but this token may not do this (a node token outside its node).</summary>
    public static JsonHttpResult<ErrorResponse> Forbidden(string message) => Create(403, ErrorCodes.Forbidden, message);

    public static JsonHttpResult<ErrorResponse> Conflict(string message) => Create(409, ErrorCodes.Conflict, message);

    public static JsonHttpResult<ErrorResponse> Create(
        int status, string code, string message, IReadOnlyDictionary<string, string>? details = null) =>
        TypedResults.Json(new ErrorResponse(code, message, details), ApiJson.Wire.ErrorResponse, statusCode: status);

    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(
            new ErrorResponse(code, message, null), ApiJson.Wire.ErrorResponse, contentType: "application/json");
    }
}
