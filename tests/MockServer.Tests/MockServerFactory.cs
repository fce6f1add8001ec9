using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace HpcJobs.MockServer.Tests;

/// <summary>The mock server in-process, serving the checkout's config/openapi.yaml.</summary>
public sealed class MockServerFactory : WebApplicationFactory<MockServerProgram>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseSetting("OPENAPI_PATH", SpecFile.Path);
}
