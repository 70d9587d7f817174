using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Losses;
using Sdpm.Engine.PostProcessing;
using Sdpm.Engine.Schedule;
using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Sampling;

/// <summary>Per-mode output on a stack of slices at model resolution: mean probability, std over repeats, final mask,
/// and the lesion voxel count of each repeat (for the volume spread).</summary>
public sealed record SliceMaps(SamplingMode Mode, Tensor Probability, Tensor Std, Tensor Mask, double[] RepeatVoxels, long Passes) : IDisposable
{
    public void Dispose()
    {
        Probability.Dispose();
        Std.Dispose();
        Mask.Dispose();
    }
}

/// <summary>Runs the four inference modes on a stack of slices, with the N repeats batched on the device.</summary>
/// <remarks>Work items (slice, repeat) are processed in chunks of at most <see cref="SamplingProtocol.MaxBatch"/> samples:
/// one network pass evaluates a whole chunk. MaxBatch = 1 gives sequential repeats (for the benchmark).</remarks>
public sealed class StackSampler(SegmentationModel model, SamplingProtocol protocol)
{
    /// <summary>Runs the requested modes on x0 [S,1,H,W] (brain slices, values in [-1,1]).</summary>
    public IReadOnlyList<SliceMaps> Run(Tensor x0, IReadOnlyCollection<SamplingMode> modes, CancellationToken ct = default)
    {
        protocol.Validate(model.Options.DiffusionSteps);
        var all = modes.Contains(SamplingMode.All);
        var wantAvg = all || modes.Contains(SamplingMode.Avg);
        var wantSal = all || modes.Contains(SamplingMode.Sal);
        var wantInfer = all || modes.Contains(SamplingMode.Infer);
        using var generator = new Generator(protocol.Seed, model.Device);
        using var brain = x0.gt(Sc.MinusOne).to_type(ScalarType.Float32);
        var results = new List<SliceMaps>();
        // The t = 0 pass is deterministic: avg computes it once and sal reuses it.
        var avg = Avg(x0, brain, ct);
        if (wantAvg) results.Add(avg);
        if (wantSal) results.Add(Repeated(SamplingMode.Sal, x0, brain, protocol.SalRepeats, avg.Probability, generator, ct));
        if (wantInfer) results.Add(Repeated(SamplingMode.Infer, x0, brain, protocol.InferRepeats, null, generator, ct));
        if (all) results.Add(Union(results));
        if (!wantAvg) avg.Dispose();
        return results.Where(r => modes.Contains(r.Mode)).ToList();
    }

    private SliceMaps Avg(Tensor x0, Tensor brain, CancellationToken ct)
    {
        var s = x0.shape[0];
        var prob = zeros_like(x0).DetachFromDisposeScope();
        for (long i = 0; i < s; i += protocol.MaxBatch)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var n = Math.Min(protocol.MaxBatch, s - i);
            var p = model.DirectProbability(x0.narrow(0, i, n), brain.narrow(0, i, n));
            prob.narrow(0, i, n).copy_(p);
        }
        var mask = DiscretePointRemoval.Apply(prob, protocol.Threshold, protocol.RemovalKernel).DetachFromDisposeScope();
        var voxels = mask.sum().item<float>();
        return new SliceMaps(SamplingMode.Avg, prob, zeros_like(prob).DetachFromDisposeScope(), mask, [voxels], (s + protocol.MaxBatch - 1) / protocol.MaxBatch);
    }

    private SliceMaps Repeated(SamplingMode mode, Tensor x0, Tensor brain, int repeats, Tensor? avgProb, Generator generator, CancellationToken ct)
    {
        var s = (int)x0.shape[0];
        var sum = zeros_like(x0).DetachFromDisposeScope();
        var sumSq = zeros_like(x0).DetachFromDisposeScope();
        var repeatVoxels = new double[repeats];
        long passes = 0;
        var items = s * repeats; // item k: slice k / repeats, repeat k % repeats
        for (var start = 0; start < items; start += protocol.MaxBatch)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var n = Math.Min(protocol.MaxBatch, items - start);
            var sliceIdx = Enumerable.Range(start, n).Select(k => (long)(k / repeats)).ToArray();
            var idx = Torch.Tensors.From(sliceIdx, x0.device);
            var xc = x0.index_select(0, idx);
            var bc = brain.index_select(0, idx);
            var (p, used) = mode == SamplingMode.Sal
                ? Salient(xc, bc, avgProb?.index_select(0, idx), generator)
                : Chain(xc, bc, generator);
            passes += used;
            sum.index_add_(0, idx, p, Sc.One);
            sumSq.index_add_(0, idx, p.Squared(), Sc.One);
            var kept = DiscretePointRemoval.Apply(p, protocol.Threshold, protocol.RemovalKernel).flatten(1).sum([1L]).cpu().data<float>().ToArray();
            for (var j = 0; j < n; j++) repeatVoxels[(start + j) % repeats] += kept[j];
        }
        using var count = ((double)repeats).ToScalar();
        var mean = (sum / count).DetachFromDisposeScope();
        var std = ((sumSq / count) - mean.Squared()).clamp_min(Sc.Zero).sqrt().DetachFromDisposeScope();
        sum.Dispose();
        sumSq.Dispose();
        var mask = DiscretePointRemoval.Apply(mean, protocol.Threshold, protocol.RemovalKernel).DetachFromDisposeScope();
        return new SliceMaps(mode, mean, std, mask, repeatVoxels, passes);
    }

    /// <summary>sal: sum over t in [0, Ti) of psi_t * p(y0_hat_t), one fresh noise per t.</summary>
    private (Tensor P, long Passes) Salient(Tensor x0, Tensor brain, Tensor? avgProb, Generator generator)
    {
        var timesteps = protocol.SalTimesteps();
        var weights = protocol.SalWeights();
        var acc = zeros_like(x0);
        long passes = 0;
        for (var k = 0; k < timesteps.Count; k++)
        {
            using var scope = NewDisposeScope();
            var t = timesteps[k];
            Tensor p;
            if (t == 0 && avgProb is not null) p = avgProb;
            else
            {
                var eps = randn(x0.shape, device: x0.device, generator: generator) * brain;
                var xt = model.Diffusion.NoiseImage(x0, eps, brain, t);
                var (epsHat, ytHat) = model.Forward(xt, t, brain);
                p = SegmentationLosses.Probability(model.Diffusion.Clean(ytHat, epsHat, t)) * brain;
                passes++;
            }
            using var w = weights[k].ToScalar();
            acc.add_(p, alpha: w);
        }
        return (acc.clamp_(Sc.Zero, Sc.One), passes); // float rounding of the weights can overshoot 1
    }

    /// <summary>infer (Algorithm 1): x_Ti from q, y_Ti from the label stream, then the synchronous reverse chain to t = 0.</summary>
    private (Tensor P, long Passes) Chain(Tensor x0, Tensor brain, Generator generator)
    {
        var schedule = model.Diffusion.Schedule;
        var times = protocol.InferTimesteps();
        var eps0 = randn(x0.shape, device: x0.device, generator: generator) * brain;
        var x = model.Diffusion.NoiseImage(x0, eps0, brain, times[0]);
        var (epsHat, y) = model.Forward(x, times[0], brain);
        long passes = 1;
        for (var i = 0; i < times.Count - 1; i++)
        {
            var (t, s) = (times[i], times[i + 1]);
            var step = schedule.Reverse(t, s);
            using var scope = NewDisposeScope();
            var x0Hat = model.Diffusion.Clean(x, epsHat, t).clamp(Sc.MinusOne, Sc.One);
            var y0Hat = model.Diffusion.Clean(y, epsHat, t).clamp(Sc.MinusOne, Sc.One);
            using var c1 = step.C1.ToScalar();
            using var c2 = step.C2.ToScalar();
            using var sx = step.Sigma.ToScalar();
            using var sy = (protocol.D * step.Sigma).ToScalar();
            Tensor xNext, yNext;
            if (s == 0)
            {
                xNext = (x0Hat * c1).Plus(x * c2);
                yNext = (y0Hat * c1).Plus(y * c2);
            }
            else
            {
                var z = randn(x0.shape, device: x0.device, generator: generator) * brain;
                xNext = (x0Hat * c1).Plus(x * c2).Plus(z * sx);
                yNext = (y0Hat * c1).Plus(y * c2).Plus(z * sy);
            }
            x = (xNext * brain).MoveToOuterDisposeScope();
            y = (yNext * brain).MoveToOuterDisposeScope();
            if (s > 0)
            {
                var (e, _) = model.Forward(x, s, brain);
                epsHat = e.MoveToOuterDisposeScope();
                passes++;
            }
        }
        return (SegmentationLosses.Probability(y) * brain, passes);
    }

    private static SliceMaps Union(List<SliceMaps> parts)
    {
        using var scope = NewDisposeScope();
        var prob = parts.Select(p => p.Probability).Aggregate(maximum);
        var std = parts.Select(p => p.Std).Aggregate(maximum);
        var mask = parts.Select(p => p.Mask).Aggregate(maximum);
        // Repeats are not paired across modes; the union's spread is taken as the largest of its parts'.
        var spread = parts.Select(p => Sd(p.RepeatVoxels)).Max();
        var v = mask.sum().item<float>();
        return new SliceMaps(SamplingMode.All, prob.DetachFromDisposeScope(), std.DetachFromDisposeScope(), mask.DetachFromDisposeScope(),
            [v - spread, v + spread], 0);
    }

    private static double Sd(double[] v)
    {
        if (v.Length < 2) return 0;
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}
