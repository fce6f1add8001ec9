using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace HpcJobs.Api;

/// <summary>The one rule for an address setting (HOST, ADVERTISED_IP) of the service and the mock server.</summary>
public static class ListenAddress
{
    public const string Problem = "must be an IP address such as 0.0.0.0 or 127.0.0.1";

    /// <summary>An IP address, or <c>localhost</c> for the loopback address.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out IPAddress? address)
    {
        if (text.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }

        return IPAddress.TryParse(text, out address);
    }
}
