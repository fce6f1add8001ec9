using System.Text;
using System.Text.Encodings.Web;

namespace HpcJobs.Api.Pages;

/// <summary>
/// The only way the pages produce markup. Tag and attribute names are the pages' own constants
/// (checked to be plain names); every text and attribute value goes through <see cref="HtmlEncoder"/>,
/// so a job id, user or node name such as <c>&lt;script&gt;</c> can only ever be text.
/// </summary>
internal sealed class HtmlWriter
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    private readonly StringBuilder _html;
    private readonly StringWriter _writer;

    public HtmlWriter(int capacity = 16 * 1024)
    {
        _html = new StringBuilder(capacity);
        _writer = new StringWriter(_html, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary><c>&lt;tag a="v"...&gt;</c>; dispose the result to close it.</summary>
    public Element Open(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        StartTag(tag, attributes);
        _html.Append('>');
        return new Element(this, tag);
    }

    /// <summary>An element with text content only: <c>&lt;tag&gt;text&lt;/tag&gt;</c>.</summary>
    public HtmlWriter Leaf(string tag, string? text, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        StartTag(tag, attributes);
        _html.Append('>');
        Text(text);
        return Close(tag);
    }

    /// <summary>An element without content: <c>&lt;meta ...&gt;</c>, <c>&lt;input ...&gt;</c>, or SVG's <c>&lt;line .../&gt;</c>.</summary>
    public HtmlWriter Empty(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        StartTag(tag, attributes);
        _html.Append(" />");
        return this;
    }

    public HtmlWriter Text(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            Encoder.Encode(_writer, text);
        }

        return this;
    }

    /// <summary>The page's own fixed markup (the doctype, the stylesheet): never anything derived from a request or the data.</summary>
    public HtmlWriter Constant(TrustedMarkup markup)
    {
        _html.Append(markup.Value);
        return this;
    }

    public override string ToString() => _html.ToString();

    private HtmlWriter Close(string tag)
    {
        _html.Append("</").Append(tag).Append('>');
        return this;
    }

    private void StartTag(string tag, ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        _html.Append('<').Append(CheckName(tag));
        foreach (var (name, value) in attributes)
        {
            if (value is null)
            {
                continue;
            }

            _html.Append(' ').Append(CheckName(name)).Append("=\"");
            Encoder.Encode(_writer, value);
            _html.Append('"');
        }
    }

    private static string CheckName(string name)
    {
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                throw new ArgumentException($"'{name}' is not a tag or attribute name", nameof(name));
            }
        }

        return name.Length > 0 ? name : throw new ArgumentException("empty tag or attribute name", nameof(name));
    }

    public readonly struct Element(HtmlWriter writer, string tag) : IDisposable
    {
        public void Dispose() => writer.Close(tag);
    }
}

/// <summary>Markup written as it is. Only the pages' compile-time constants may become one.</summary>
internal readonly record struct TrustedMarkup(string Value);
