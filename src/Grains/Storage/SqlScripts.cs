namespace HpcJobs.Grains.Storage;

/// <summary>The schema scripts under sql/&lt;backend&gt;/, embedded in this assembly, in file-name order.</summary>
public static class SqlScripts
{
    public static IEnumerable<(string Name, string Text)> For(string backend)
    {
        var assembly = typeof(SqlScripts).Assembly;
        var prefix = $"sql/{backend}/";
        foreach (var name in assembly.GetManifestResourceNames()
                     .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (name, reader.ReadToEnd());
        }
    }
}
