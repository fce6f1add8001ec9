namespace HpcJobs.Api.Security;

/// <summary>One line of <c>API_NODE_TOKENS_FILE</c>: a bearer token that acts for one compute node.</summary>
public sealed record NodeToken(string Token, string Node);

/// <summary>
/// The format of <c>API_NODE_TOKENS_FILE</c>: one <c>token node</c> pair per line, blank lines and
/// <c>#</c> comments ignored. Read once by the settings at start (so a bad file stops start-up) and
/// again by <see cref="NodeTokens"/> whenever the file changes.
/// </summary>
public static class NodeTokenFile
{
    public const int MinTokenLength = 16;
    public const int MaxNodeLength = 255;

    /// <summary>The pairs in <paramref name="lines"/>.</summary>
    /// <exception cref="FormatException">A line is not a valid pair; the message gives its number, never its text (it holds a secret).</exception>
    public static IReadOnlyList<NodeToken> Parse(IEnumerable<string> lines)
    {
        var tokens = new List<NodeToken>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new FormatException($"line {number}: expected 'token node'");
            }

            var (token, node) = (parts[0], parts[1]);
            if (token.Length < MinTokenLength)
            {
                throw new FormatException($"line {number}: the token must be at least {MinTokenLength} characters");
            }

            if (node.Length > MaxNodeLength || node.Any(char.IsControl))
            {
                throw new FormatException($"line {number}: the node name must be 1 to {MaxNodeLength} printable characters");
            }

            // One token for two nodes would make its scope depend on line order.
            if (!seen.TryAdd(token, number))
            {
                throw new FormatException($"line {number}: the token repeats the one on line {seen[token]}");
            }

            tokens.Add(new NodeToken(token, node));
        }

        return tokens;
    }

    /// <summary>Reads and parses <paramref name="path"/>.</summary>
    /// <exception cref="FormatException">A malformed line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static IReadOnlyList<NodeToken> Read(string path) => Parse(File.ReadAllLines(path));
}
