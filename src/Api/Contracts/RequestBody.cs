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

        var buffer = new PooledBuffer((int)Math.Min(request.ContentLength ?? 512, maxBytes) + 1);
        try
        {
            var stream = request.Body;
            while (true)
            {
                var read = await stream.ReadAsync(buffer.FreeSpace(4096), request.HttpContext.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.Length > maxBytes)
                {
                    return (null, TooLarge(maxBytes));
                }
            }

            return Parse(buffer.Written);
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private static (JsonDocument? Document, RequestError? Error) Parse(ArraySegment<byte> body)
    {
        if (body.Count == 0)
        {
            return (null, RequestError.InvalidRequest("the request needs a JSON body"));
        }

        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return (null, RequestError.InvalidRequest("the body is not valid UTF-8"));
        }

        JsonDocument document;
        try
        {
            // The document keeps its own (pooled) copy, so the read buffer can go back to the pool.
            document = JsonDocument.Parse(new MemoryStream(body.Array!, body.Offset, body.Count, writable: false), DocumentOptions);
        }
        catch (JsonException e)
        {
            return (null, RequestError.InvalidRequest($"malformed JSON: {e.Message}"));
        }

        // The parser leaves escapes inside strings unchecked; an unpaired surrogate ("\ud800")
        // would only fail later, when a field is read. Valid UTF-8 holds no surrogate, so only a
        // body with a \u escape can hide one: check every name and string of such a body, here.
        if (body.AsSpan().IndexOf("\\u"u8) >= 0 && !StringsAreValid(document.RootElement))
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

    /// <summary>The request body in an array from the shared pool, grown by doubling.</summary>
    private sealed class PooledBuffer(int initialSize) : IDisposable
    {
        private byte[] _array = ArrayPool<byte>.Shared.Rent(initialSize);

        public int Length { get; private set; }

        public ArraySegment<byte> Written => new(_array, 0, Length);

        public Memory<byte> FreeSpace(int atLeast)
        {
            if (_array.Length - Length < atLeast)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, Length + atLeast));
                _array.AsSpan(0, Length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_array);
                _array = larger;
            }

            return _array.AsMemory(Length);
        }

        public void Advance(int count) => Length += count;

        public void Dispose() => ArrayPool<byte>.Shared.Return(_array);
    }
}
