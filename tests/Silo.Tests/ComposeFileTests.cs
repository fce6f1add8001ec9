using YamlDotNet.RepresentationModel;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// No Docker engine runs here, so the Compose stack is checked statically: it parses, everything it
/// mounts or builds exists, the service's environment uses the contract's names, ports do not clash.
/// </summary>
public sealed class ComposeFileTests
{
    private static readonly HashSet<string> ServiceVariables =
    [
        "PORT", "HOST", "DATABASE_TYPE", "DATABASE_URL", "METRICS_RETENTION_DAYS", "SILO_PORT", "GATEWAY_PORT",
        "CLUSTER_ID", "SERVICE_ID", "ADVERTISED_IP", "DATABASE_POOL_SIZE", "SQLITE_SYNCHRONOUS",
        "METRICS_ENDED_JOB_GRACE_SECONDS", "MAX_BODY_BYTES", "MAX_BATCH_BODY_BYTES", "API_WRITE_TOKENS",
        "API_READ_TOKENS", "API_WRITE_TOKENS_FILE", "API_READ_TOKENS_FILE", "METRICS_AUTH", "DEMO_COLLECTOR",
    ];

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory!.FullName, "HpcJobs.slnx")))
        {
            directory = directory.Parent;
        }

        return directory.FullName;
    }

    private static YamlMappingNode Services()
    {
        using var reader = new StreamReader(Path.Combine(FindRoot(), "docker-compose.yml"));
        var yaml = new YamlStream();
        yaml.Load(reader);
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    private static IEnumerable<(string Service, YamlMappingNode Node)> Each() =>
        Services().Children.Select(c => (((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value));

    private static IEnumerable<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) && value is YamlSequenceNode sequence
            ? sequence.Children.Select(c => ((YamlScalarNode)c).Value!)
            : [];

    [Fact]
    public void Compose_DefinesTheWholeStack()
    {
        var names = Each().Select(s => s.Service).ToHashSet();

        Assert.Superset(new HashSet<string> { "postgres", "silo", "lb", "prometheus", "grafana", "mock" }, names);
        var mock = Each().Single(s => s.Service == "mock").Node;
        Assert.Equal(["mock"], Sequence(mock, "profiles"));
    }

    [Fact]
    public void Compose_MountsAndBuildsOnlyWhatExists()
    {
        var root = FindRoot();
        foreach (var (service, node) in Each())
        {
            foreach (var volume in Sequence(node, "volumes"))
            {
                var source = volume.Split(':')[0];
                if (source.StartsWith('.'))
                {
                    var path = Path.GetFullPath(Path.Combine(root, source));
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"{service} mounts missing {source}");
                }
            }

            if (node.Children.TryGetValue("build", out var build) && build is YamlMappingNode buildNode)
            {
                var context = Path.Combine(root, ((YamlScalarNode)buildNode["context"]).Value!);
                Assert.True(File.Exists(Path.Combine(context, "Dockerfile")), $"{service}: no Dockerfile in {context}");
                var target = ((YamlScalarNode)buildNode["target"]).Value!;
                Assert.Contains($" AS {target}", File.ReadAllText(Path.Combine(context, "Dockerfile")));
            }
        }

        foreach (var project in File.ReadAllLines(Path.Combine(root, "Dockerfile"))
                     .SelectMany(l => l.Split(' '))
                     .Where(w => w.EndsWith(".csproj", StringComparison.Ordinal)))
        {
            Assert.True(File.Exists(Path.Combine(root, project)), $"Dockerfile publishes missing {project}");
        }
    }

    [Fact]
    public void Compose_SiloEnvironment_UsesContractNames()
    {
        var silo = Each().Single(s => s.Service == "silo").Node;
        var environment = (YamlMappingNode)silo["environment"];

        foreach (var name in environment.Children.Keys.Select(k => ((YamlScalarNode)k).Value!))
        {
            Assert.Contains(name, ServiceVariables);
        }

        Assert.Equal("postgres", ((YamlScalarNode)environment["DATABASE_TYPE"]).Value);
        Assert.StartsWith("postgres://", ((YamlScalarNode)environment["DATABASE_URL"]).Value);
    }

    [Fact]
    public void Compose_PublishedPorts_DoNotClash()
    {
        var published = Each()
            .SelectMany(s => Sequence(s.Node, "ports").Select(p => (s.Service, Host: p.Split(':')[0])))
            .ToList();

        Assert.Equal(published.Count, published.Select(p => p.Host).Distinct().Count());
        Assert.DoesNotContain(published, p => p.Service == "silo");
    }
}
