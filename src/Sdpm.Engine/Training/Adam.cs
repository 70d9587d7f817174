using Sdpm.Engine.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sdpm.Engine.Training;

/// <summary>Adam with bias correction and explicit, serialisable state (moments and step count), for exact resumes.</summary>
public sealed class Adam : IDisposable
{
    private readonly (string Name, Parameter P)[] _params;
    private readonly Dictionary<string, Tensor> _m = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _v = new(StringComparer.Ordinal);
    private readonly Scalar _beta1;
    private readonly Scalar _beta2;
    private readonly Scalar _oneMinusBeta1;
    private readonly Scalar _oneMinusBeta2;
    private readonly Scalar _eps;
    private readonly double _b1;
    private readonly double _b2;

    public Adam(IEnumerable<(string Name, Parameter P)> parameters, double beta1, double beta2, double eps = 1e-8)
    {
        _params = parameters.ToArray();
        _b1 = beta1;
        _b2 = beta2;
        _beta1 = beta1.ToScalar();
        _beta2 = beta2.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _eps = eps.ToScalar();
        using var scope = NewDisposeScope();
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
        var total = stack(grads.Select(g => g.Squared().sum()).ToArray()).sum().sqrt().item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            using var factor = (maxNorm / (total + 1e-6)).ToScalar();
            foreach (var g in grads) g.mul_(factor);
        }
        return total;
    }

    /// <summary>One Adam update with learning rate lr.</summary>
    public void Step(double lr)
    {
        StepCount++;
        using var bc2 = (1 - Math.Pow(_b2, StepCount)).ToScalar();
        using var stepSize = (-lr / (1 - Math.Pow(_b1, StepCount))).ToScalar();
        using var _ = no_grad();
        foreach (var (name, p) in _params)
        {
            using var scope = NewDisposeScope();
            var g = p.grad;
            if (g is null) continue;
            var m = _m[name];
            var v = _v[name];
            m.mul_(_beta1).add_(g, alpha: _oneMinusBeta1);
            v.mul_(_beta2).addcmul_(g, g, value: _oneMinusBeta2);
            var denom = (v / bc2).sqrt_().PlusInPlace(_eps);
            p.addcdiv_(m, denom, value: stepSize);
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
        foreach (var s in new[] { _beta1, _beta2, _oneMinusBeta1, _oneMinusBeta2, _eps }) s.Dispose();
    }
}
