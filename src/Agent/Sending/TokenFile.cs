namespace HpcJobs.Agent;

/// <summary>AGENT_TOKEN_FILE: the bearer token on the file's first line. Read at every interval, so a rotated token is used at once.</summary>
public sealed record TokenFile(string? Token, string? Error)
{
    public static TokenFile Read(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            var token = text.Split('\n', 2)[0].Trim();
            if (token.Length == 0)
            {
                return new TokenFile(null, "holds no token (the first line is empty)");
            }

            return token.Any(c => char.IsControl(c) || c == ' ')
                ? new TokenFile(null, "the token has spaces or control characters")
                : new TokenFile(token, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new TokenFile(null, $"cannot be read: {e.Message}");
        }
    }
}
