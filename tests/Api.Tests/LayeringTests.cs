using System.Xml.Linq;
using HpcJobs.Api.Jobs;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The routes see grains and storage only through HpcJobs.Grains.Interfaces: route → grain → storage
/// stays readable in three files, and a route cannot reach into a grain's or a backend's internals.
/// </summary>
public sealed class LayeringTests
{
    [Fact]
    public void ApiAssembly_ReferencesOnlyGrainInterfaces_NotTheGrainsImplementation()
    {
        var referenced = typeof(JobsApi).Assembly.GetReferencedAssemblies().Select(name => name.Name).ToList();

        Assert.Contains("HpcJobs.Grains.Interfaces", referenced);
        Assert.DoesNotContain("HpcJobs.Grains", referenced);
        Assert.DoesNotContain("Npgsql", referenced);
        Assert.DoesNotContain("Microsoft.Data.Sqlite", referenced);
    }

    [Fact]
    public void ApiProject_HasNoProjectReferenceToGrains()
    {
        var project = XDocument.Load(Path.Combine(ServiceProcess.RepositoryRoot(), "src", "Api", "Api.csproj"));
        var references = project.Descendants("ProjectReference")
            .Select(reference => Path.GetFileName(((string?)reference.Attribute("Include"))?.Replace('\\', '/') ?? string.Empty))
            .ToList();

        Assert.Contains("Grains.Interfaces.csproj", references);
        Assert.DoesNotContain("Grains.csproj", references);
    }
}
