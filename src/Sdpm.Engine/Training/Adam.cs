using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sdpm.Engine.Training;

/// <summary>Adam with bias correction and explicit, serialisable state (moments and step count), for exact resumes.</summary>
public sealed class Adam : IDisposable
{
    private readonly (string Name, Parameter P)[] _params;
    private readonly Dictionary<string, Tensor> _m = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _v = new(StringComparer.Ordinal);
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;

    public Adam(IEnumerable<(string Name, Parameter P)> parameters, double beta1, double beta2, double eps = 1e-8)
    {
        _params = parameters.ToArray();
        _beta1 = beta1;
        _beta2 = beta2;
        _eps = eps;
        foreach (var (name, p) in _params)
        {
            _m[name] = zeros_like(p).DetachFromDisposeScope();
            _v[name] = zeros_like(p).DetachFromDisposeScope();
        }
    }

    /// <summary>Number of updates applied so far.</summary>
    public long StepCount { get; set; }

    public IReadOnlyDictionary<string, Tensor> FirstMoments => _m;

    public IReadOnlyDictionary<string, Tensor> SecondMoments => _v;

    /// <summary>Clips the global gradient norm to maxNorm (no clip when maxNorm &lt;= 0); returns the norm before clipping.</summary>
    public double ClipGradients(double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var grads = _params.Select(p => p.P.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return 0;
        var total = stack(grads.Select(g => g.square().sum()).ToArray()).sum().sqrt().item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            var factor = maxNorm / (total + 1e-6);
            foreach (var g in grads) g.mul_(factor);
        }
        return total;
    }

    /// <summary>One Adam update with learning rate lr.</summary>
    public void Step(double lr)
    {
        StepCount++;
        var bc1 = 1 - Math.Pow(_beta1, StepCount);
        var bc2 = 1 - Math.Pow(_beta2, StepCount);
        using var _ = no_grad();
        foreach (var (name, p) in _params)
        {
            using var scope = NewDisposeScope();
            var g = p.grad;
            if (g is null) continue;
            var m = _m[name];
            var v = _v[name];
            m.mul_(_beta1).add_(g, alpha: 1 - _beta1);
            v.mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
            var denom = (v / bc2).sqrt_().add_(_eps);
            p.addcdiv_(m, denom, value: -lr / bc1);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in _params)
            if (p.grad is { } g) { using var __ = no_grad(); g.zero_(); }
    }

    /// <summary>Restores moments and step count (tensors are copied onto the parameters' devices).</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> m, IReadOnlyDictionary<string, Tensor> v, long step)
    {
        using var _ = no_grad();
        foreach (var (name, _) in _params)
        {
            if (!m.TryGetValue(name, out var mm) || !v.TryGetValue(name, out var vv))
                throw new InvalidDataException($"checkpoint: optimizer state for '{name}' is missing.");
            _m[name].copy_(mm);
            _v[name].copy_(vv);
        }
        StepCount = step;
    }

    public void Dispose()
    {
        foreach (var t in _m.Values.Concat(_v.Values)) t.Dispose();
    }
}
