using HpcJobs.Api.Contracts;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Api.Errors;

/// <summary>Maps what no handler expected to the contract's error body: 503 when storage is down, else 500.</summary>
public static partial class ErrorHandling
{
    public static IApplicationBuilder UseContractErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = _ => 500,
            ExceptionHandler = HandleExceptionAsync,

            // An outage makes every request fail the same way: one warning line each (below), not a stack trace each.
            SuppressDiagnosticsCallback = context => Classify(context.Exception, context.HttpContext) != Outcome.Internal,
        });

        // Routing answers unknown paths (404) and known paths with the wrong method (405) with an
        // empty body; give them the error body too.
        app.UseStatusCodePages(context =>
        {
            var response = context.HttpContext.Response;
            return response.StatusCode switch
            {
                404 => ApiErrors.WriteAsync(context.HttpContext, 404, ErrorCodes.NotFound, "no such route"),
                405 => ApiErrors.WriteAsync(context.HttpContext, 405, ErrorCodes.MethodNotAllowed, "method not allowed on this route"),
                413 => ApiErrors.WriteAsync(context.HttpContext, 413, ErrorCodes.PayloadTooLarge, "request body too large"),
                415 => ApiErrors.WriteAsync(context.HttpContext, 415, ErrorCodes.UnsupportedMediaType, "the body must be application/json"),
                _ => Task.CompletedTask,
            };
        });
        return app;
    }

    private static Task HandleExceptionAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("HpcJobs.Api.Errors");
        switch (Classify(error, context))
        {
            case Outcome.Unavailable:
                LogUnavailable(logger, context.Request.Method, context.Request.Path, error?.GetBaseException().Message ?? "unknown");
                return ApiErrors.WriteAsync(context, 503, ErrorCodes.Unavailable, "storage is unavailable; retry later");
            case Outcome.BadRequest when error is BadHttpRequestException bad:
                return bad.StatusCode == 413
                    ? ApiErrors.WriteAsync(context, 413, ErrorCodes.PayloadTooLarge, "request body too large")
                    : ApiErrors.WriteAsync(context, 400, ErrorCodes.InvalidRequest, bad.Message);
            default:
                return ApiErrors.WriteAsync(context, 500, ErrorCodes.InternalError, "internal error");
        }
    }

    private static Outcome Classify(Exception? error, HttpContext context)
    {
        // The storage backend's rule; a host without storage (the mock server) has none.
        var transient = context.RequestServices.GetService<ITransientFailures>();
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // First: a malformed body is an IOException too, and must not read as an I/O outage.
                case BadHttpRequestException:
                    return Outcome.BadRequest;

                // A database driver's transient error that escaped the storage layer (e.g. from
                // Orleans' own ADO.NET providers) is still the database being down; a constraint
                // violation or a missing table is a bug and stays a 500 with its stack logged.
                // A grain call refused because its silo is unreachable (dead but not yet declared so,
                // SiloUnavailableException included) is an outage of that silo, not a bug: retry later.
                case Orleans.Runtime.OrleansMessageRejectionException:
                    return Outcome.Unavailable;
                case var _ when transient?.IsTransient(e) == true:
                    return Outcome.Unavailable;
            }
        }

        return Outcome.Internal;
    }

    private enum Outcome
    {
        Internal,
        Unavailable,
        BadRequest,
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string reason);
}
