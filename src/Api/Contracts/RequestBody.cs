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

        try
        {
            return (JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions), null);
        }
        catch (JsonException e)
        {
            return (null, RequestError.InvalidRequest($"malformed JSON: {e.Message}"));
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
