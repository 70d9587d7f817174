using Sdpm.Engine.Contracts.Splits;

namespace Sdpm.Engine.Contracts.Sampling;

/// <summary>How an inference run samples: which modes, which protocol, which cases of the model's split, on which device.</summary>
/// <remarks>Settings (as <c>sdpm infer --NAME</c> and as the keys of a job's settings map): modes, protocol, subset,
/// device, max-batch, and the <see cref="SamplingOverrides"/> (ti, d, nu, eta, ...).</remarks>
/// <param name="Protocol">A name from <see cref="SamplingProtocol.Names"/>.</param>
/// <param name="Subset">Only the train or test cases of the model's split; null: every case of the source.</param>
/// <param name="MaxBatch">Overrides the protocol's <see cref="SamplingProtocol.MaxBatch"/> (device memory).</param>
/// <param name="Sampling">Explicit values that replace the protocol's (null: none).</param>
public sealed record InferenceOptions(
    IReadOnlyList<SamplingMode> Modes,
    string Protocol = "fast",
    SplitSubset? Subset = null,
    string Device = "auto",
    int? MaxBatch = null,
    SamplingOverrides? Sampling = null)
{
    private static readonly IReadOnlyList<string> SubsetNames = ["all", "test", "train"];

    /// <summary>The protocol for a model trained with the given number of diffusion steps.</summary>
    /// <exception cref="ArgumentException">Unknown protocol name.</exception>
    public SamplingProtocol ResolveProtocol(int diffusionSteps)
    {
        var protocol = SamplingProtocol.Named(Protocol, diffusionSteps);
        if (MaxBatch is { } mb) protocol = protocol with { MaxBatch = mb };
        return Sampling is { } o ? o.ApplyTo(protocol, diffusionSteps) : protocol;
    }

    /// <summary>Reads every inference setting (absent ones keep their defaults: all four modes, fast, all cases, auto).</summary>
    public static InferenceOptions Read(SettingReader r)
    {
        var modes = r.Parsed("modes", SamplingModes.ParseList) ?? SamplingModes.Every;
        var protocol = r.Choice("protocol", SamplingProtocol.Names) ?? "fast";
        var subset = r.Choice("subset", SubsetNames) is { } s ? DatasetSplit.ParseSubset(s) : null;
        var device = r.Device() ?? "auto";
        var maxBatch = r.Int("max-batch", 1, 100_000);
        var sampling = SamplingOverrides.Read(r);
        return new InferenceOptions(modes, protocol, subset, device, maxBatch, sampling.IsEmpty ? null : sampling);
    }

    /// <summary>Reads a job's settings map; an unknown key is an error.</summary>
    /// <exception cref="SettingException">A bad value or an unknown setting.</exception>
    public static InferenceOptions FromSettings(IReadOnlyDictionary<string, string> settings)
    {
        var reader = SettingReader.FromMap(settings);
        var options = Read(reader);
        reader.RejectUnknown("inference");
        return options;
    }

    /// <summary>The settings map that <see cref="FromSettings"/> reads back into these options.</summary>
    public IReadOnlyDictionary<string, string> ToSettings()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["modes"] = string.Join(",", Modes.Select(SamplingModes.Name)),
            ["protocol"] = Protocol,
            ["subset"] = DatasetSplit.SubsetName(Subset),
            ["device"] = Device,
        };
        if (MaxBatch is { } mb) map["max-batch"] = mb.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Sampling?.WriteTo(map);
        return map;
    }
}
