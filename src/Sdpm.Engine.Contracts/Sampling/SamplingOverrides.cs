using System.Globalization;

namespace Sdpm.Engine.Contracts.Sampling;

/// <summary>Explicit sampling values that replace a named protocol's (null: the protocol's). Each paper value is one
/// setting away: <c>--d 0.5 --nu 2 --label-noise variance --removal attention --no-clamp</c>.</summary>
/// <remarks>Settings (as <c>sdpm infer --NAME</c>, <c>sdpm tune</c> and the keys of a job's settings map): ti, sal-stride,
/// infer-stride, sal-repeats, infer-repeats, nu, d, label-noise, eta, threshold, removal, removal-kernel, min-component,
/// no-clamp.</remarks>
public sealed record SamplingOverrides(
    int? Ti = null,
    int? SalStride = null,
    int? InferStride = null,
    int? SalRepeats = null,
    int? InferRepeats = null,
    double? Nu = null,
    double? D = null,
    LabelNoise? LabelNoise = null,
    double? Eta = null,
    double? Threshold = null,
    RemovalMode? Removal = null,
    int? RemovalKernel = null,
    int? MinComponentVoxels = null,
    bool NoClamp = false)
{
    private static readonly IReadOnlyList<string> LabelNoiseNames = ["std", "variance"];
    private static readonly IReadOnlyList<string> RemovalNames = ["count", "attention"];

    /// <summary>The settings keys the overrides are read from (<see cref="Read"/>) and written to (<see cref="WriteTo"/>).</summary>
    public static IReadOnlyList<string> Keys { get; } =
        ["ti", "sal-stride", "infer-stride", "sal-repeats", "infer-repeats", "nu", "d", "label-noise", "eta", "threshold", "removal",
         "removal-kernel", "min-component", "no-clamp"];

    /// <summary>No value overridden.</summary>
    public bool IsEmpty => this == new SamplingOverrides();

    /// <summary>The protocol with every given value replaced; validated for a model of the given diffusion steps.</summary>
    /// <exception cref="ArgumentException">A value the protocol refuses (for example Ti above T).</exception>
    public SamplingProtocol ApplyTo(SamplingProtocol p, int diffusionSteps)
    {
        var q = p with
        {
            Ti = Ti ?? p.Ti, SalStride = SalStride ?? p.SalStride, InferStride = InferStride ?? p.InferStride,
            SalRepeats = SalRepeats ?? p.SalRepeats, InferRepeats = InferRepeats ?? p.InferRepeats, Nu = Nu ?? p.Nu, D = D ?? p.D,
            LabelNoise = LabelNoise ?? p.LabelNoise, Eta = Eta ?? p.Eta, Threshold = Threshold ?? p.Threshold,
            Removal = Removal ?? p.Removal, RemovalKernel = RemovalKernel ?? p.RemovalKernel,
            MinComponentVoxels = MinComponentVoxels ?? p.MinComponentVoxels, Clamp = !NoClamp && p.Clamp,
        };
        q.Validate(diffusionSteps);
        return q;
    }

    /// <summary>Reads the overrides (absent ones stay null).</summary>
    public static SamplingOverrides Read(SettingReader r) => new(
        r.Int("ti", 1, 100_000),
        r.Int("sal-stride", 1, 100_000),
        r.Int("infer-stride", 1, 100_000),
        r.Int("sal-repeats", 1, 10_000),
        r.Int("infer-repeats", 1, 10_000),
        r.Number("nu", 1, 100),
        r.Number("d", 1e-6, 1),
        r.Choice("label-noise", LabelNoiseNames) is { } n ? (n == "variance" ? Sampling.LabelNoise.Variance : Sampling.LabelNoise.Std) : null,
        r.Number("eta", 0, 1),
        r.Number("threshold", 1e-6, 1 - 1e-6),
        r.Choice("removal", RemovalNames) is { } m ? (m == "attention" ? RemovalMode.Attention : RemovalMode.Count) : null,
        r.Int("removal-kernel", 1, 99) is { } k ? (k % 2 == 1 ? k : throw new SettingException($"{r.Prefix}removal-kernel must be odd, got '{k}'.")) : null,
        r.Int("min-component", 0, 10_000_000),
        r.Flag("no-clamp"));

    /// <summary>The given values as "ti 250, eta 1" (settings names, in <see cref="Keys"/>' order); empty when none is.</summary>
    public string Describe()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        WriteTo(map);
        return Describe(map);
    }

    /// <summary>The sampling values a settings map holds (a job's, for example), as <see cref="Describe()"/> writes them.</summary>
    public static string Describe(IReadOnlyDictionary<string, string> settings) =>
        string.Join(", ", Keys.Where(settings.ContainsKey).Select(k => $"{k} {settings[k]}"));

    /// <summary>Adds the given values to a settings map, as <see cref="Read"/> reads them back.</summary>
    public void WriteTo(IDictionary<string, string> map)
    {
        void Put(string key, object? value)
        {
            if (value is not null) map[key] = value is double d ? d.ToString("R", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture)!;
        }
        Put("ti", Ti);
        Put("sal-stride", SalStride);
        Put("infer-stride", InferStride);
        Put("sal-repeats", SalRepeats);
        Put("infer-repeats", InferRepeats);
        Put("nu", Nu);
        Put("d", D);
        Put("label-noise", LabelNoise is { } n ? LabelNoiseNames[(int)n] : null);
        Put("eta", Eta);
        Put("threshold", Threshold);
        Put("removal", Removal is { } m ? RemovalNames[(int)m] : null);
        Put("removal-kernel", RemovalKernel);
        Put("min-component", MinComponentVoxels);
        if (NoClamp) map["no-clamp"] = "true";
    }
}
