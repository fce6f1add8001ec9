using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace HpcJobs.Api.Contracts;

/// <summary>Reads a JSON request body within the size and depth limits, or says why not.</summary>
public static class RequestBody
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = Limits.MaxJsonDepth };

    public static async Task<(JsonDocument? Document, RequestError? Error)> ReadAsync(HttpRequest request, long maxBytes)
    {
        if (request.ContentType is { Length: > 0 } contentType && !IsJson(contentType))
        {
            return (null, new RequestError(415, ErrorCodes.UnsupportedMediaType, "the body must be application/json"));
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 512, maxBytes) + 1);
        var stream = request.Body;
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await stream.ReadAsync(memory, request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                return (null, TooLarge(maxBytes));
            }
        }

        if (buffer.WrittenCount == 0)
        {
            return (null, RequestError.InvalidRequest("the request needs a JSON body"));
        }

        if (!System.Text.Unicode.Utf8.IsValid(buffer.WrittenSpan))
        {
            return (null, RequestError.InvalidRequest("the body is not valid UTF-8"));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
        }
        catch (JsonException e)
        {
            return (null, RequestError.InvalidRequest($"malformed JSON: {e.Message}"));
        }

        // The parser leaves escapes inside strings unchecked; an unpaired surrogate ("\ud800")
        // would only fail later, when a field is read. Check every name and string once, here.
        if (!StringsAreValid(document.RootElement))
        {
            document.Dispose();
            return (null, RequestError.InvalidRequest("a string holds an unpaired UTF-16 surrogate escape"));
        }

        return (document, null);
    }

    private static bool StringsAreValid(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        if (!StringsAreValid(property.Value))
                        {
                            return false;
                        }
                    }

                    return true;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!StringsAreValid(item))
                        {
                            return false;
                        }
                    }

                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static RequestError TooLarge(long maxBytes) =>
        new(413, ErrorCodes.PayloadTooLarge, $"the body exceeds {maxBytes} bytes");

    private static bool IsJson(string contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.HasValue
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.MediaType.Value!.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
