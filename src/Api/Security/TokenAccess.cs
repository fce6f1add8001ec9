using System.Security.Cryptography;
using System.Text;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Security;

/// <summary>
/// Optional bearer tokens: mutating routes need a write token, reads a read or write token,
/// <c>/metrics</c> follows <see cref="AccessOptions.MetricsNeedToken"/>, <c>/v1/health</c> is always
/// open (load balancers probe it). Tokens are compared as SHA-256 digests in constant time and never logged.
/// </summary>
public sealed class TokenAccess
{
    private readonly byte[][] _write;
    private readonly byte[][] _read;
    private readonly AccessOptions _options;

    public TokenAccess(IOptions<AccessOptions> options)
    {
        _options = options.Value;
        _write = [.. _options.WriteTokens.Select(Digest)];
        _read = [.. _options.ReadTokens.Select(Digest)];
    }

    public Access Check(HttpRequest request)
    {
        if (!_options.Enabled || request.Path.StartsWithSegments("/v1/health"))
        {
            return Access.Allowed;
        }

        var isMetrics = request.Path.StartsWithSegments("/metrics");
        if (isMetrics && !_options.MetricsNeedToken)
        {
            return Access.Allowed;
        }

        var token = BearerToken(request);
        if (token is null)
        {
            return Access.Missing;
        }

        var digest = Digest(token);
        var canWrite = Matches(_write, digest);
        var canRead = canWrite || Matches(_read, digest);
        var mutating = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
        return (mutating ? canWrite : canRead) ? Access.Allowed : canRead ? Access.ReadOnly : Access.Invalid;
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? header[scheme.Length..].Trim()
            : null;
    }

    private static bool Matches(byte[][] known, byte[] digest)
    {
        // Every token is compared, each in constant time: neither timing nor position leaks.
        var found = false;
        foreach (var candidate in known)
        {
            found |= CryptographicOperations.FixedTimeEquals(candidate, digest);
        }

        return found;
    }

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}

public enum Access
{
    Allowed,
    Missing,
    Invalid,
    ReadOnly,
}

public static class TokenAccessExtensions
{
    public static IServiceCollection AddTokenAccess(this IServiceCollection services, Action<AccessOptions> configure)
    {
        services.Configure(configure);
        services.AddSingleton<TokenAccess>();
        return services;
    }

    public static IApplicationBuilder UseTokenAccess(this IApplicationBuilder app)
    {
        var access = app.ApplicationServices.GetRequiredService<TokenAccess>();
        return app.Use((context, next) =>
        {
            var outcome = access.Check(context.Request);
            if (outcome == Access.Allowed)
            {
                return next(context);
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiErrors.WriteAsync(context, 401, ErrorCodes.Unauthorized, outcome switch
            {
                Access.Missing => "a bearer token is required (Authorization: Bearer <token>)",
                Access.ReadOnly => "this token may only read; writing needs a write token",
                _ => "the bearer token is not valid",
            });
        });
    }
}
