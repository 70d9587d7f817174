using System.Globalization;

namespace Sdpm.Cli.Commands;

/// <summary>A small POSIX-style argument reader: <c>--name value</c>, <c>--name=value</c>, <c>--flag</c>, positionals.</summary>
/// <remarks>Each verb asks for its options; <see cref="Done"/> then refuses anything left over, so a typo is an error.</remarks>
public sealed class ArgReader
{
    private readonly List<string> _args;
    private readonly HashSet<int> _used = [];

    public ArgReader(IEnumerable<string> args) => _args = args.ToList();

    /// <summary>True when the flag is present (and consumes it).</summary>
    public bool Flag(string name)
    {
        var i = _args.FindIndex(a => a == name);
        if (i < 0) return false;
        _used.Add(i);
        return true;
    }

    /// <summary>The value of an option, or null when absent.</summary>
    public string? Option(string name)
    {
        for (var i = 0; i < _args.Count; i++)
        {
            if (_args[i] == name)
            {
                if (i + 1 >= _args.Count || (_args[i + 1].StartsWith("--", StringComparison.Ordinal) && _args[i + 1].Length > 2))
                    throw new UsageException($"{name} needs a value.");
                _used.Add(i);
                _used.Add(i + 1);
                return _args[i + 1];
            }
            if (_args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                _used.Add(i);
                return _args[i][(name.Length + 1)..];
            }
        }
        return null;
    }

    /// <summary>A required option.</summary>
    public string Required(string name) => Option(name) ?? throw new UsageException($"{name} is required.");

    /// <summary>An integer option within a range, or null when absent.</summary>
    public int? Int(string name, int min, int max)
    {
        var s = Option(name);
        if (s is null) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new UsageException($"{name} must be an integer from {min} to {max}, got '{s}'.");
        return v;
    }

    /// <summary>A non-negative 64-bit integer option, or null when absent.</summary>
    public ulong? ULong(string name)
    {
        var s = Option(name);
        if (s is null) return null;
        if (!ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw new UsageException($"{name} must be a non-negative integer, got '{s}'.");
        return v;
    }

    /// <summary>A comma-separated list of positive numbers of a given length, or null when absent.</summary>
    public double[]? Numbers(string name, int count)
    {
        var s = Option(name);
        if (s is null) return null;
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var v = new double[parts.Length];
        if (parts.Length != count || parts.Select((p, i) => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) && double.IsFinite(v[i]) && v[i] > 0).Any(ok => !ok))
            throw new UsageException($"{name} must be {count} positive numbers separated by commas, got '{s}'.");
        return v;
    }

    /// <summary>The remaining positional arguments, which must number between min and max.</summary>
    public IReadOnlyList<string> Positionals(int min, int max, string what)
    {
        var list = new List<string>();
        for (var i = 0; i < _args.Count; i++)
        {
            if (_used.Contains(i)) continue;
            if (_args[i].StartsWith("--", StringComparison.Ordinal) && _args[i].Length > 2)
                throw new UsageException($"unknown option {_args[i]}.");
            _used.Add(i);
            list.Add(_args[i]);
        }
        if (list.Count < min) throw new UsageException($"missing {what}.");
        if (list.Count > max) throw new UsageException($"unexpected argument '{list[max]}'.");
        return list;
    }

    /// <summary>Refuses any argument nobody asked for.</summary>
    public void Done() => Positionals(0, 0, "");
}
