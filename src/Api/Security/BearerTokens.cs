using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Security;

/// <summary>The rights a token carries, as claims the authorization policies read.</summary>
public static class AccessRoles
{
    public const string Write = "write";
    public const string Read = "read";
    public const string Node = "node";

    /// <summary>Claim type holding a node token's node.</summary>
    public const string NodeClaim = "hpc:node";
}

/// <summary>
/// Every configured token, by SHA-256 digest: the write and read tokens fixed at start, the node
/// tokens from <see cref="NodeTokens"/>. Tokens are compared in constant time against all of them
/// and never logged; a token's name is derived from its digest, so the audit can tell tokens apart
/// without holding one.
/// </summary>
public sealed class BearerTokens(IOptions<AccessOptions> options, NodeTokens nodes)
{
    private readonly byte[][] _write = [.. options.Value.WriteTokens.Select(Digest)];
    private readonly byte[][] _read = [.. options.Value.ReadTokens.Select(Digest)];

    /// <summary>The caller <paramref name="token"/> stands for, or null when it is no configured token.</summary>
    public ClaimsIdentity? Identify(string token, string scheme)
    {
        var digest = Digest(token);

        // All three sets are searched whatever matches first, so timing does not tell which kind a token is.
        var write = Matches(_write, digest);
        var read = Matches(_read, digest);
        var node = nodes.Match(digest);

        // A token listed twice gets its widest right; the lists are meant to be disjoint.
        var (role, name) = write ? (AccessRoles.Write, TokenName(digest))
            : read ? (AccessRoles.Read, TokenName(digest))
            : node is not null ? (AccessRoles.Node, "node:" + node)
            : (null, null);
        if (role is null)
        {
            return null;
        }

        var identity = new ClaimsIdentity(scheme, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, name!));
        identity.AddClaim(new Claim(ClaimTypes.Role, role));
        if (role == AccessRoles.Node)
        {
            identity.AddClaim(new Claim(AccessRoles.NodeClaim, node!));
        }

        return identity;
    }

    public static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>
    /// <c>token:</c> and the first 8 hex digits of the digest: stable across restarts and silos, and
    /// 32 bits of a hash of a ≥ 16-character secret give nothing away.
    /// </summary>
    private static string TokenName(byte[] digest) => "token:" + Convert.ToHexStringLower(digest.AsSpan(0, 4));

    private static bool Matches(byte[][] known, byte[] digest)
    {
        // Every token is compared, each in constant time: neither timing nor position leaks.
        var found = false;
        foreach (var candidate in known)
        {
            found |= CryptographicOperations.FixedTimeEquals(candidate, digest);
        }

        return found;
    }
}
