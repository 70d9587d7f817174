using System.Globalization;
using System.Text.RegularExpressions;

namespace Sdpm.Engine.Contracts;

/// <summary>A setting with a bad value, or one that nobody knows.</summary>
public sealed class SettingException(string message) : ArgumentException(message);

/// <summary>Reads named engine settings with their ranges and messages, either from a command line (<c>--name value</c>)
/// or from a job's settings map (<c>name</c> → value), so that the CLI and a worker read a setting the same way.</summary>
/// <remarks>Messages name a setting as the caller spells it (<see cref="Prefix"/> + name) and end with the offending value,
/// e.g. "--lr must be a number from 1E-08 to 1, got 'fast'.".</remarks>
public sealed partial class SettingReader
{
    private readonly Func<string, string?> _value;
    private readonly Func<string, bool> _flag;
    private readonly Func<string, Exception> _error;
    private readonly IReadOnlyDictionary<string, string>? _map;
    private readonly List<string> _asked = [];

    /// <param name="value">The value of a named setting, or null when it is not given.</param>
    /// <param name="flag">Whether a named flag (a setting without a value) is given.</param>
    /// <param name="prefix">How names are spelt in messages: "--" on a command line.</param>
    /// <param name="error">Makes the exception for a message (default: <see cref="SettingException"/>).</param>
    public SettingReader(Func<string, string?> value, Func<string, bool> flag, string prefix = "", Func<string, Exception>? error = null)
    {
        _value = value;
        _flag = flag;
        Prefix = prefix;
        _error = error ?? (m => new SettingException(m));
    }

    private SettingReader(IReadOnlyDictionary<string, string> map)
        : this(name => map.TryGetValue(name, out var v) ? v : null, name => false) =>
        _map = map;

    public string Prefix { get; }

    /// <summary>A reader over a settings map; flags are given as "true" or "false". Call <see cref="RejectUnknown"/> after
    /// reading, so that a misspelt setting is an error rather than silently ignored.</summary>
    public static SettingReader FromMap(IReadOnlyDictionary<string, string> settings) => new(settings);

    /// <summary>The raw value, or null.</summary>
    public string? Text(string name)
    {
        _asked.Add(name);
        return _value(name);
    }

    /// <summary>True when the flag is given.</summary>
    public bool Flag(string name)
    {
        if (_map is null)
        {
            _asked.Add(name);
            return _flag(name);
        }
        var s = Text(name);
        if (s is null) return false;
        return bool.TryParse(s, out var v) ? v : throw Error($"{Prefix}{name} must be true or false, got '{s}'.");
    }

    /// <summary>An integer from min to max, or null.</summary>
    public int? Int(string name, int min, int max)
    {
        var s = Text(name);
        if (s is null) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw Error($"{Prefix}{name} must be an integer from {min} to {max}, got '{s}'.");
        return v;
    }

    /// <summary>A non-negative 64-bit integer, or null.</summary>
    public ulong? ULong(string name)
    {
        var s = Text(name);
        if (s is null) return null;
        if (!ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw Error($"{Prefix}{name} must be a non-negative integer, got '{s}'.");
        return v;
    }

    /// <summary>A finite number from min to max, or null.</summary>
    public double? Number(string name, double min, double max)
    {
        var s = Text(name);
        if (s is null) return null;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < min || v > max)
            throw Error(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name} must be a number from {min} to {max}, got '{s}'."));
        return v;
    }

    /// <summary>One of the given words, or null.</summary>
    public string? Choice(string name, IReadOnlyList<string> choices)
    {
        var s = Text(name);
        if (s is null || choices.Contains(s, StringComparer.Ordinal)) return s;
        throw Error($"{Prefix}{name} must be {OneOf(choices)}, got '{s}'.");
    }

    /// <summary>A value read by a parser whose ArgumentException message starts with the setting's bare name.</summary>
    public T? Parsed<T>(string name, Func<string, T> parse) where T : class
    {
        var s = Text(name);
        if (s is null) return null;
        try { return parse(s); }
        catch (ArgumentException e) { throw Error(Prefix + e.Message); }
    }

    /// <summary>A device setting: auto, cpu, cuda or cuda:N, or null.</summary>
    public string? Device(string name = "device")
    {
        var s = Text(name);
        if (s is null || s is "auto" or "cpu" or "cuda" || CudaIndex().IsMatch(s)) return s;
        throw Error($"{Prefix}{name} must be auto, cpu, cuda or cuda:N, got '{s}'.");
    }

    /// <summary>Refuses entries of a settings map that nothing read.</summary>
    /// <param name="what">What the settings are for, for the message ("training").</param>
    public void RejectUnknown(string what)
    {
        if (_map is null) return;
        var unknown = _map.Keys.Where(k => !_asked.Contains(k, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw Error($"unknown {what} setting{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}; known: {string.Join(", ", _asked.Distinct())}.");
    }

    /// <summary>"a or b", "a, b or c".</summary>
    public static string OneOf(IReadOnlyList<string> words) =>
        words.Count < 2 ? string.Join("", words) : $"{string.Join(", ", words.Take(words.Count - 1))} or {words[^1]}";

    private Exception Error(string message) => _error(message);

    [GeneratedRegex("^cuda:[0-9]+$")]
    private static partial Regex CudaIndex();
}
