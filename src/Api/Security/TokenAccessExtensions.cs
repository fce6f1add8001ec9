using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace HpcJobs.Api.Security;

public static class TokenAccessExtensions
{
    /// <summary>Bearer-token authentication, the <see cref="AccessPolicies"/> and the fallback policy for routes that name none.</summary>
    public static IServiceCollection AddTokenAccess(this IServiceCollection services)
    {
        services.AddSingleton<NodeTokens>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeTokens>());
        services.AddSingleton<BearerTokens>();
        services.AddSingleton<IAuthorizationHandler, AccessRequirementHandler>();
        services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.Read, AccessPolicies.Policy(AccessRight.Read))
            .AddPolicy(AccessPolicies.Write, AccessPolicies.Policy(AccessRight.Write))
            .AddPolicy(AccessPolicies.Ingest, AccessPolicies.Policy(AccessRight.Ingest))
            .AddPolicy(AccessPolicies.Metrics, AccessPolicies.Policy(AccessRight.Metrics))
            .SetFallbackPolicy(AccessPolicies.Policy(AccessRight.Fallback));
        return services;
    }

    /// <summary>Authentication, then authorization of the routed endpoint.</summary>
    public static IApplicationBuilder UseTokenAccess(this IApplicationBuilder app) =>
        app.UseAuthentication().UseAuthorization();
}
