using HpcJobs.Api.Errors;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer;

/// <summary>
/// The OpenAPI mock server: every operation of config/openapi.yaml, answered with the document's
/// examples after the real service's own request checks. A named entry class, so that a test can
/// hold a <c>WebApplicationFactory</c> of it beside one of the service's global <c>Program</c>.
/// </summary>
public sealed class MockServerProgram
{
    private MockServerProgram()
    {
    }

    public static int Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        MockSettings settings;
        OpenApiSpec spec;
        try
        {
            settings = MockSettings.Load(builder.Configuration);
            spec = OpenApiSpec.Load(settings.SpecPath);
        }
        catch (Exception error) when (error is MockSettingsException or FormatException or IOException)
        {
            Console.Error.WriteLine(error.Message);
            return 2;
        }

        builder.UseMockEndpoint(settings);

        var app = builder.Build();
        app.UseContractErrors();
        app.MapOpenApiMock(spec);
        app.LogServing(spec, settings);
        app.Run();
        return 0;
    }
}
