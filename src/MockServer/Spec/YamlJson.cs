using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace HpcJobs.MockServer.Spec;

/// <summary>
/// A YAML document as the JSON it stands for, typed by the YAML 1.2 core schema: quoted and block
/// scalars are strings, plain scalars may be numbers, booleans or null. OpenAPI examples are JSON
/// values, so <c>version: 0.1.0</c> must stay a string and <c>id: '12345'</c> must not become a number.
/// </summary>
public static partial class YamlJson
{
    public static JsonNode? Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new FormatException($"not valid YAML: {e.Message}", e);
        }

        if (stream.Documents.Count != 1)
        {
            throw new FormatException($"expected one YAML document, found {stream.Documents.Count}");
        }

        return Convert(stream.Documents[0].RootNode, "");
    }

    private static JsonNode? Convert(YamlNode node, string pointer) => node switch
    {
        YamlMappingNode mapping => Mapping(mapping, pointer),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select((item, i) => Convert(item, $"{pointer}/{i}"))]),
        YamlScalarNode scalar => Scalar(scalar, pointer),
        _ => throw new FormatException($"{Where(pointer)}: unsupported YAML node {node.NodeType}"),
    };

    private static JsonObject Mapping(YamlMappingNode mapping, string pointer)
    {
        var result = new JsonObject();
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw new FormatException($"{Where(pointer)}: a mapping key must be a scalar");
            }

            if (key == "<<")
            {
                throw new FormatException($"{Where(pointer)}: YAML merge keys are not supported");
            }

            var child = $"{pointer}/{key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}";
            if (!result.TryAdd(key, Convert(valueNode, child)))
            {
                throw new FormatException($"{Where(pointer)}: duplicate key '{key}'");
            }
        }

        return result;
    }

    private static JsonNode? Scalar(YamlScalarNode scalar, string pointer)
    {
        var text = scalar.Value ?? string.Empty;
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        switch (tag)
        {
            case null or "?" when scalar.Style is ScalarStyle.Plain or ScalarStyle.Any:
                return Plain(text, pointer);
            case null or "!" or "tag:yaml.org,2002:str":
                return JsonValue.Create(text);
            case "tag:yaml.org,2002:null":
                return null;
            case "tag:yaml.org,2002:bool" or "tag:yaml.org,2002:int" or "tag:yaml.org,2002:float":
                return Plain(text, pointer) ?? throw new FormatException($"{Where(pointer)}: '{text}' is not a {tag}");
            default:
                throw new FormatException($"{Where(pointer)}: unsupported YAML tag {tag}");
        }
    }

    /// <summary>The core schema's resolution of a plain scalar.</summary>
    private static JsonNode? Plain(string text, string pointer)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (text is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (Decimal().IsMatch(text))
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)
                ? JsonValue.Create(whole)
                : JsonValue.Create(decimal.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return JsonValue.Create(hex);
        }

        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && text[2..].All(c => c is >= '0' and <= '7'))
        {
            return JsonValue.Create(System.Convert.ToInt64(text[2..], 8));
        }

        if (Float().IsMatch(text))
        {
            return JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        if (NonFinite().IsMatch(text))
        {
            throw new FormatException($"{Where(pointer)}: '{text}' has no JSON representation");
        }

        return JsonValue.Create(text);
    }

    private static string Where(string pointer) => pointer.Length == 0 ? "document root" : "#" + pointer;

    [GeneratedRegex(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Decimal();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Float();

    [GeneratedRegex(@"^([-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN)$", RegexOptions.CultureInvariant)]
    private static partial Regex NonFinite();
}
