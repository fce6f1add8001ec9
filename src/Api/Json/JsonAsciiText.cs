using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace HpcJobs.Api.Json;

/// <summary>
/// A JSON string's characters read straight from the document's bytes, without a new string: only
/// for a value with no escape and no byte outside ASCII are the bytes the characters.
/// </summary>
internal static class JsonAsciiText
{
    /// <summary>False when <paramref name="value"/> is not such a string, or does not fit <paramref name="destination"/>.</summary>
    public static bool TryCopy(JsonElement value, Span<char> destination, out int length)
    {
        length = 0;
        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var raw = JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length - 2 > destination.Length || raw.Contains((byte)'\\') || !Ascii.IsValid(raw))
        {
            return false;
        }

        length = Encoding.ASCII.GetChars(raw[1..^1], destination);
        return true;
    }
}
