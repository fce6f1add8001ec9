namespace HpcJobs.Api.Security;

/// <summary>Who may call what. No tokens configured means open access (the default on a trusted network).</summary>
public sealed class AccessOptions
{
    /// <summary>Tokens that may write (and read): <c>API_WRITE_TOKENS</c> / <c>API_WRITE_TOKENS_FILE</c>.</summary>
    public IReadOnlyList<string> WriteTokens { get; set; } = [];

    /// <summary>Tokens that may only read: <c>API_READ_TOKENS</c> / <c>API_READ_TOKENS_FILE</c>.</summary>
    public IReadOnlyList<string> ReadTokens { get; set; } = [];

    /// <summary><c>API_NODE_TOKENS_FILE</c>: watched, and re-read when it changes. Null when unset.</summary>
    public string? NodeTokensFile { get; set; }

    /// <summary>The node tokens read from <see cref="NodeTokensFile"/> at start.</summary>
    public IReadOnlyList<NodeToken> NodeTokens { get; set; } = [];

    /// <summary>Whether <c>/metrics</c> needs a read token when tokens are configured (<c>METRICS_AUTH=read</c>, the default) or is open (<c>none</c>).</summary>
    public bool MetricsNeedToken { get; set; } = true;

    /// <summary>
    /// Any token configured closes the service. Setting the node file counts even while it is empty,
    /// so that a reload can never reopen a service that started closed.
    /// </summary>
    public bool Enabled => WriteTokens.Count > 0 || ReadTokens.Count > 0 || NodeTokensFile is not null;
}
