using System.Globalization;
using System.Net;
using HpcJobs.Api;
using Microsoft.Extensions.Options;

namespace HpcJobs.Silo;

/// <summary>Whether <paramref name="text"/>, a variable's trimmed value, is valid, and the value it stands for.</summary>
public delegate bool Parser<T>(string text, out T value);

/// <summary>
/// The readers each concern binds its options with (<c>AddOptions&lt;T&gt;().Configure&lt;IConfiguration&gt;(...).ValidateOnStart()</c>):
/// a value that does not parse or is out of range cannot be bound and throws a <see cref="SettingsException"/>.
/// </summary>
public static class Settings
{
    /// <summary><paramref name="name"/>'s value read by <paramref name="parse"/>, or <paramref name="fallback"/> when it is unset.</summary>
    /// <exception cref="SettingsException">The value does not parse; the message gives <paramref name="problem"/>.</exception>
    public static T Read<T>(this IConfiguration configuration, string name, T fallback, Parser<T> parse, string problem)
    {
        if (configuration[name] is not { Length: > 0 } raw)
        {
            return fallback;
        }

        var text = raw.Trim();
        return parse(text, out var value) ? value : throw new SettingsException(name, text, problem);
    }

    public static string Text(this IConfiguration configuration, string name, string fallback) =>
        configuration[name] is { Length: > 0 } value ? value.Trim() : fallback;

    public static int Integer(this IConfiguration configuration, string name, int fallback, int min, int max) =>
        configuration.Read(name, fallback, (string text, out int value) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max, $"must be a whole number from {min} to {max}");

    public static TimeSpan Seconds(this IConfiguration configuration, string name, int fallback, int min, int max) =>
        TimeSpan.FromSeconds(configuration.Integer(name, fallback, min, max));

    public static IPAddress Address(this IConfiguration configuration, string name, IPAddress fallback) =>
        configuration.Read(name, fallback, (string text, out IPAddress value) => ListenAddress.TryParse(text, out value!), ListenAddress.Problem);

    public static string Identifier(this IConfiguration configuration, string name, string fallback) =>
        configuration.Read(name, fallback, (string text, out string value) =>
            (value = text).Length <= 150 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'), "must be up to 150 letters, digits, '-', '_' or '.'");

    /// <summary>The value of the choice the variable names, in any case, or <paramref name="fallback"/> when it is unset.</summary>
    public static T Choice<T>(this IConfiguration configuration, string name, T fallback, string problem, params (string Name, T Value)[] choices) =>
        configuration.Read(name, fallback, (string text, out T value) =>
        {
            var at = Array.FindIndex(choices, choice => choice.Name.Equals(text, StringComparison.OrdinalIgnoreCase));
            value = at < 0 ? fallback : choices[at].Value;
            return at >= 0;
        }, problem);

    /// <summary><c>1</c>/<c>true</c> or <c>0</c>/<c>false</c>; unset is off.</summary>
    public static bool Flag(this IConfiguration configuration, string name) =>
        configuration.Read(name, false, (string text, out bool value) => (value = text is "1" or "true") || text is "0" or "false", "must be 1 or 0");

    /// <summary>
    /// Runs the ValidateOnStart checks now, not when the host starts, so that a bad value stops the
    /// process before anything has started, and names every bad setting at once (except HOST, PORT
    /// and the body limits: Kestrel reads them, and fails alone, when the app is built).
    /// </summary>
    /// <exception cref="OptionsValidationException">A setting cannot be bound.</exception>
    public static WebApplication ValidateSettings(this WebApplication app)
    {
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return app;
        }
        catch (AggregateException errors)
        {
            // One options class may read another's variable (reconciliation reads the sample interval): name it once.
            throw new OptionsValidationException(
                string.Empty, typeof(IConfiguration), errors.InnerExceptions.SelectMany(e => ((OptionsValidationException)e).Failures).Distinct());
        }
    }
}

/// <summary>
/// A setting that cannot be bound, named with the problem (never the value of a secret). An
/// <see cref="OptionsValidationException"/>, so that ValidateOnStart reports it like a failed rule.
/// </summary>
public sealed class SettingsException(string variable, string value, string problem)
    : OptionsValidationException(string.Empty, typeof(IConfiguration), [$"invalid setting {variable}='{value}': {problem}"])
{
    public string Variable { get; } = variable;
}
