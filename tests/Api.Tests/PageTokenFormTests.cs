using System.Text;
using HpcJobs.Api.Pages;
using HpcJobs.Api.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Tests;

/// <summary><c>POST /jobs/token</c> on its own: the cookie's attributes over HTTP and HTTPS, and what it refuses.</summary>
public sealed class PageTokenFormTests
{
    private const string ReadToken = "form-read-token-0123456789";
    private const string NodeToken = "form-node-token-0123456789";

    [Theory]
    [InlineData("http", false)]
    [InlineData("https", true)]
    public async Task Submit_ValidReadToken_SetsAStrictHttpOnlyCookie_SecureOverHttps(string scheme, bool secure)
    {
        var context = Form(scheme, $"token={ReadToken}&return=%2Fjobs%2F12345");

        await ExecuteAsync(context);

        Assert.Equal(StatusCodes.Status303SeeOther, context.Response.StatusCode);
        Assert.Equal("/jobs/12345", context.Response.Headers.Location.ToString());
        var cookie = Assert.Single(context.Response.Headers.SetCookie.ToArray())!;
        var attributes = cookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.Equal($"{PageTokenCookie.Name}={ReadToken}", attributes[0]);
        Assert.Contains("httponly", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("path=/jobs", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(secure, attributes.Contains("secure", StringComparer.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("token=not-a-token-0123456789&return=%2Fjobs")]
    [InlineData("token=" + NodeToken + "&return=%2Fjobs")]
    [InlineData("token=&return=%2Fjobs")]
    [InlineData("return=%2Fjobs")]
    public async Task Submit_AnythingButAReadOrWriteToken_ShowsTheFormAgain_WithoutACookie(string body)
    {
        var context = Form("http", body);

        await ExecuteAsync(context);

        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        Assert.Empty(context.Response.Headers.SetCookie.ToArray());
        context.Response.Body.Position = 0;
        var html = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Contains("That is not a read or write token of this service.", html, StringComparison.Ordinal);
        Assert.Contains("name=\"token\"", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https%3A%2F%2Fevil.example%2Fjobs")]
    [InlineData("%2F%2Fevil.example%2Fjobs")]
    [InlineData("%2Fjobs%2F..%5C..%5Cevil")]
    [InlineData("%2Fv1%2Fjobs")]
    [InlineData("%2Fjobsx")]
    public async Task Submit_ReturnsOnlyToAPage(string returnPath)
    {
        var context = Form("http", $"token={ReadToken}&return={returnPath}");

        await ExecuteAsync(context);

        Assert.Equal("/jobs", context.Response.Headers.Location.ToString());
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Sec-Fetch-Site", "none")]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Origin", "http://service.example:8081")]
    [InlineData("Origin", "null")]
    public async Task Submit_FromAnotherSitesPage_IsRefused_WithoutACookie(string header, string value)
    {
        var context = Form("http", $"token={ReadToken}&return=%2Fjobs");
        context.Request.Headers[header] = value;

        await ExecuteAsync(context);

        Assert.Equal(StatusCodes.Status403Forbidden, context.Response.StatusCode);
        Assert.Empty(context.Response.Headers.SetCookie.ToArray());
        context.Response.Body.Position = 0;
        var html = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Contains("Enter the token on the sign-in page of this service; a form sent from another site is refused.", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "same-origin")]
    [InlineData("Origin", "http://service.example:8080")]
    [InlineData("Origin", "http://SERVICE.example:8080")]
    public async Task Submit_FromTheServicesOwnPage_SetsTheCookie(string header, string value)
    {
        var context = Form("http", $"token={ReadToken}&return=%2Fjobs");
        context.Request.Headers[header] = value;

        await ExecuteAsync(context);

        Assert.Equal(StatusCodes.Status303SeeOther, context.Response.StatusCode);
        Assert.Single(context.Response.Headers.SetCookie.ToArray());
    }

    private static async Task ExecuteAsync(HttpContext context)
    {
        var options = Options.Create(new AccessOptions
        {
            ReadTokens = [ReadToken],
            NodeTokensFile = "/nonexistent/node-tokens",
            NodeTokens = [new NodeToken(NodeToken, "n1")],
        });
        using var nodes = new NodeTokens(options, NullLogger<NodeTokens>.Instance);
        var result = await TokenForm.SubmitAsync(context, new BearerTokens(options, nodes), options);
        await result.ExecuteAsync(context);
    }

    private static DefaultHttpContext Form(string scheme, string body)
    {
        var context = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider(),
        };
        context.Request.Scheme = scheme;
        context.Request.Host = new HostString("service.example", 8080);
        context.Request.Method = "POST";
        context.Request.Path = TokenForm.Path;
        context.Request.ContentType = "application/x-www-form-urlencoded";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        context.Response.Body = new MemoryStream();
        return context;
    }
}
