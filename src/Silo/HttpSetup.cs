namespace HpcJobs.Silo;

public static class HttpSetup
{
    /// <summary>Binds Kestrel to HOST:PORT.</summary>
    public static WebApplicationBuilder UseHttpEndpoint(this WebApplicationBuilder builder, ServiceSettings settings)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(settings.Host, settings.Port);
            kestrel.AddServerHeader = false;
        });
        return builder;
    }
}
