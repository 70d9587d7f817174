using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sdpm.Engine.Training;

/// <summary>Exponential moving average of a network's weights (used for inference).</summary>
public sealed class Ema : IDisposable
{
    private readonly (string Name, Parameter P)[] _params;
    private readonly Dictionary<string, Tensor> _shadow = new(StringComparer.Ordinal);

    public Ema(IEnumerable<(string Name, Parameter P)> parameters)
    {
        _params = parameters.ToArray();
        using var scope = NewDisposeScope(); // detach()'s views are disposed with it, the copies detached from it
        using var _ = no_grad();
        foreach (var (name, p) in _params) _shadow[name] = p.detach().clone().DetachFromDisposeScope();
    }

    public IReadOnlyDictionary<string, Tensor> Shadow => _shadow;

    /// <summary>shadow = d * shadow + (1 - d) * weights.</summary>
    public void Update(double decay)
    {
        using var _ = no_grad();
        using var d = decay.ToScalar();
        using var a = (1 - decay).ToScalar();
        foreach (var (name, p) in _params) _shadow[name].mul_(d).add_(p, alpha: a);
    }

    /// <summary>The decay for the u-th update (0-based), optionally warmed up.</summary>
    public static double Decay(double decay, long update, bool warmup) =>
        warmup ? Math.Min(decay, (1.0 + update) / (10.0 + update)) : decay;

    public void Load(IReadOnlyDictionary<string, Tensor> shadow)
    {
        using var _ = no_grad();
        foreach (var (name, _) in _params)
        {
            if (!shadow.TryGetValue(name, out var s)) throw new InvalidDataException($"checkpoint: EMA weight '{name}' is missing.");
            _shadow[name].copy_(s);
        }
    }

    public void Dispose()
    {
        foreach (var t in _shadow.Values) t.Dispose();
    }
}
