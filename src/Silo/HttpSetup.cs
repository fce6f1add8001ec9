using System.Net;
using HpcJobs.Api;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace HpcJobs.Silo;

/// <summary>Where the service listens for HTTP (<c>HOST</c>, <c>PORT</c>).</summary>
public sealed class HttpEndpointOptions
{
    public IPAddress Host { get; set; } = IPAddress.Any;

    public int Port { get; set; } = 8080;

    /// <summary>Reads HOST and PORT; also all the health check reads.</summary>
    public static void Bind(HttpEndpointOptions http, IConfiguration configuration)
    {
        http.Host = configuration.Address("HOST", IPAddress.Any);
        http.Port = configuration.Integer("PORT", 8080, 1, 65535);
    }
}

public static class HttpSetup
{
    /// <summary>Binds Kestrel to HOST:PORT, and the request body limits MAX_BODY_BYTES and MAX_BATCH_BODY_BYTES.</summary>
    public static WebApplicationBuilder UseHttpEndpoint(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HttpEndpointOptions>().Configure<IConfiguration>(HttpEndpointOptions.Bind).ValidateOnStart();
        builder.Services.AddOptions<ApiOptions>().Configure<IConfiguration>((api, env) =>
        {
            api.MaxBodyBytes = env.Integer("MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024);
            api.MaxBatchBodyBytes = env.Integer("MAX_BATCH_BODY_BYTES", 16 * 1024 * 1024, 1024, 256 * 1024 * 1024);
        }).ValidateOnStart();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpEndpointOptions>, IOptions<ApiOptions>>((kestrel, http, api) =>
        {
            kestrel.Listen(http.Value.Host, http.Value.Port);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = Math.Max(api.Value.MaxBodyBytes, api.Value.MaxBatchBodyBytes) + 1;
        });
        return builder;
    }
}
