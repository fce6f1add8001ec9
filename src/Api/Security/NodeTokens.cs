using System.Security.Cryptography;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace HpcJobs.Api.Security;

/// <summary>
/// The node tokens of <c>API_NODE_TOKENS_FILE</c>, re-read whenever the file changes so that a node
/// can be added or a leaked token revoked without restarting every silo. A file that no longer
/// parses is refused as a whole: the previous set stays and a warning says why.
/// </summary>
public sealed partial class NodeTokens : IHostedService, IDisposable
{
    // Editors and `cp` write a file in several steps; read once it has settled.
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(200);

    private readonly string? _path;
    private readonly ILogger<NodeTokens> _logger;
    private readonly Lock _reloading = new();
    private volatile Entry[] _entries;
    private PhysicalFileProvider? _files;
    private IDisposable? _watch;

    public NodeTokens(IOptions<AccessOptions> options, ILogger<NodeTokens> logger)
    {
        _path = options.Value.NodeTokensFile is { } path ? Path.GetFullPath(path) : null;
        _logger = logger;
        _entries = ToEntries(options.Value.NodeTokens);
    }

    public int Count => _entries.Length;

    /// <summary>The node whose token has <paramref name="digest"/> (a SHA-256 digest), or null.</summary>
    public string? Match(byte[] digest)
    {
        // Every entry is compared, each in constant time: neither timing nor position leaks.
        string? node = null;
        foreach (var entry in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(entry.Digest, digest))
            {
                node = entry.Node;
            }
        }

        return node;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return Task.CompletedTask;
        }

        // The watcher covers its root recursively: give it the file's own directory, nothing wider.
        _files = new PhysicalFileProvider(Path.GetDirectoryName(_path)!, ExclusionFilters.None);
        var name = Path.GetFileName(_path);
        _watch = ChangeToken.OnChange(() => _files.Watch(name), () => _ = ReloadSoonAsync());

        // A change between the settings' read and the watch would otherwise go unseen.
        Reload();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _files?.Dispose();
    }

    private async Task ReloadSoonAsync()
    {
        await Task.Delay(Settle).ConfigureAwait(false);
        Reload();
    }

    private void Reload()
    {
        lock (_reloading)
        {
            try
            {
                var entries = ToEntries(NodeTokenFile.Read(_path!));
                var changed = entries.Length != _entries.Length
                    || !entries.Zip(_entries).All(pair => pair.First.Node == pair.Second.Node && pair.First.Digest.AsSpan().SequenceEqual(pair.Second.Digest));
                _entries = entries;
                if (changed)
                {
                    LogReloaded(_logger, _path!, entries.Length);
                }
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                LogReloadFailed(_logger, _path!, e.Message, _entries.Length);
            }
        }
    }

    private static Entry[] ToEntries(IEnumerable<NodeToken> tokens) =>
        [.. tokens.Select(t => new Entry(BearerTokens.Digest(t.Token), t.Node))];

    [LoggerMessage(Level = LogLevel.Information, Message = "API_NODE_TOKENS_FILE {Path} reloaded: {Count} node tokens")]
    private static partial void LogReloaded(ILogger logger, string path, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "API_NODE_TOKENS_FILE {Path} not reloaded ({Problem}); keeping the previous {Count} node tokens")]
    private static partial void LogReloadFailed(ILogger logger, string path, string problem, int count);

    private sealed record Entry(byte[] Digest, string Node);
}
