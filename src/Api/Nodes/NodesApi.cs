using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Security;
using HpcJobs.Grains;
using HpcJobs.Grains.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Nodes;

/// <summary>The <c>/v1/nodes</c> routes: heartbeats through each node's grain, the list from the nodes table.</summary>
public static class NodesApi
{
    public static IEndpointRouteBuilder MapNodesApi(this IEndpointRouteBuilder app)
    {
        var nodes = app.MapGroup("/v1/nodes");
        nodes.MapGet("/", ListNodes).RequireAuthorization(AccessPolicies.Read);

        // Ingest: a write token, or the node token of this very {node}.
        nodes.MapPost("/{node}/heartbeat", Heartbeat).RequireAuthorization(AccessPolicies.Ingest);
        return app;
    }

    public static async Task<Results<Ok<HeartbeatResponse>, JsonHttpResult<ErrorResponse>>> Heartbeat(
        string node, HttpContext http, IGrainFactory grains, IOptions<ApiOptions> api, IOptions<SampleOptions> samples, TimeProvider time)
    {
        if (NodeName.Problem(node) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("node", problem));
        }

        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        var (document, bodyError) = await RequestBody.ReadAsync(http.Request, api.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || HeartbeatRequest.Parse(body.RootElement, time.GetUtcNow(), samples.Value.MaxClockSkew, out bodyError) is not { } jobs)
        {
            return ApiErrors.From(bodyError!);
        }

        var view = await grains.GetGrain<INodeGrain>(node).HeartbeatAsync(jobs, context);
        return TypedResults.Ok(new HeartbeatResponse(view.Node, view.LastHeartbeat, view.Jobs.Count));
    }

    public static async Task<Ok<NodeListResponse>> ListNodes(INodeQueries index, CancellationToken cancellationToken)
    {
        var nodes = await index.ListAsync(cancellationToken);
        return TypedResults.Ok(new NodeListResponse(
            [.. nodes.Select(node => new NodeResponse(node.Node, node.LastHeartbeat, node.HeartbeatingSince, node.Jobs.Count, node.Jobs))],
            nodes.Count));
    }
}
