using System.Globalization;

namespace Sdpm.Imaging.Display;

/// <summary>A display window in HU: values from Level - Width/2 (black) to Level + Width/2 (white).</summary>
public readonly record struct Window
{
    public Window(double level, double width)
    {
        if (!double.IsFinite(level) || !double.IsFinite(width) || width <= 0)
            throw new ArgumentException($"A window needs a finite level and a positive width (got L{level} W{width}).");
        Level = level;
        Width = width;
    }

    public double Level { get; }
    public double Width { get; }
    public double Lower => Level - Width / 2;
    public double Upper => Level + Width / 2;

    /// <summary>Grey value 0..255 of one HU value (linear inside the window, clamped outside).</summary>
    public byte Map(double hu)
    {
        var v = (hu - Lower) * 255.0 / Width;
        return v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5);
    }

    /// <summary>The HU value a grey value 0..255 stands for (inverse of <see cref="Map"/>, used for PNG stacks).</summary>
    public double Unmap(byte grey) => Lower + grey * Width / 255.0;

    /// <summary>Parses a preset name ("brain", "stroke", "subdural", "bone") or "LEVEL,WIDTH".</summary>
    public static Window Parse(string text)
    {
        if (WindowPresets.TryGet(text, out var preset)) return preset;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var l)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && w > 0 && double.IsFinite(l))
            return new Window(l, w);
        throw new FormatException($"'{text}' is not a window: use a preset ({string.Join(", ", WindowPresets.All.Keys)}) or LEVEL,WIDTH with a positive width.");
    }

    public override string ToString() => FormattableString.Invariant($"L{Level:0.##}/W{Width:0.##}");
}

/// <summary>The standard head CT windows.</summary>
public static class WindowPresets
{
    /// <summary>Brain: level 40, width 80.</summary>
    public static Window Brain { get; } = new(40, 80);

    /// <summary>Stroke (narrow, for early ischaemia): level 32, width 8.</summary>
    public static Window Stroke { get; } = new(32, 8);

    /// <summary>Subdural: level 75, width 215.</summary>
    public static Window Subdural { get; } = new(75, 215);

    /// <summary>Bone: level 600, width 2800.</summary>
    public static Window Bone { get; } = new(600, 2800);

    /// <summary>All presets by lower-case name.</summary>
    public static IReadOnlyDictionary<string, Window> All { get; } = new Dictionary<string, Window>
    {
        ["brain"] = Brain, ["stroke"] = Stroke, ["subdural"] = Subdural, ["bone"] = Bone,
    };

    /// <summary>Finds a preset by name, ignoring case.</summary>
    public static bool TryGet(string name, out Window window) =>
        All.TryGetValue(name.Trim().ToLowerInvariant(), out window);
}
