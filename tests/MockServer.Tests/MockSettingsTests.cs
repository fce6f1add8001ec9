using System.Net;
using Microsoft.Extensions.Configuration;

namespace HpcJobs.MockServer.Tests;

public sealed class MockSettingsTests
{
    private static MockSettings Load(params (string Key, string Value)[] values)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in values)
        {
            settings[key] = value;
        }

        return MockSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    [Fact]
    public void MockSettings_Load_DefaultsToPort8081OnEveryAddress()
    {
        var settings = Load(("OPENAPI_PATH", SpecFile.Path));

        Assert.Equal(8081, settings.Port);
        Assert.Equal(IPAddress.Any, settings.Host);
        Assert.Equal(Path.GetFullPath(SpecFile.Path), settings.SpecPath);
    }

    [Fact]
    public void MockSettings_Load_FindsTheDocument_WhenOpenApiPathIsUnset() =>
        Assert.True(File.Exists(Load().SpecPath));

    [Theory]
    [InlineData("PORT", "0")]
    [InlineData("PORT", "65536")]
    [InlineData("PORT", "http")]
    [InlineData("HOST", "not-an-address")]
    [InlineData("OPENAPI_PATH", "/nowhere/openapi.yaml")]
    public void MockSettings_Load_NamesTheVariable_WhenASettingIsInvalid(string variable, string value)
    {
        var error = Assert.Throws<MockSettingsException>(() => Load(("OPENAPI_PATH", SpecFile.Path), (variable, value)));

        Assert.StartsWith($"invalid setting {variable}='{value}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MockSettings_Load_TakesPortAndHost()
    {
        var settings = Load(("OPENAPI_PATH", SpecFile.Path), ("PORT", "9099"), ("HOST", "127.0.0.1"));

        Assert.Equal(9099, settings.Port);
        Assert.Equal(IPAddress.Loopback, settings.Host);
    }
}
