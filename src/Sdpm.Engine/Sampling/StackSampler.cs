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
/// one network pass evaluates a whole chunk. Every item draws its noise from a generator of its own, seeded by the
/// protocol's seed, the mode, the slice and the repeat, so results do not depend on how items are chunked (MaxBatch = 1
/// gives sequential repeats, for the benchmark, and the same maps).</remarks>
public sealed class StackSampler(SegmentationModel model, SamplingProtocol protocol)
{
    /// <summary>Runs the requested modes on x0 [S,1,H,W] (brain slices, values in [-1,1]).</summary>
    public IReadOnlyList<SliceMaps> Run(Tensor x0, IReadOnlyCollection<SamplingMode> modes, CancellationToken ct = default)
    {
        protocol.Validate(model.Options.DiffusionSteps);
        var all = modes.Contains(SamplingMode.All);
        var wantSal = all || modes.Contains(SamplingMode.Sal);
        var wantInfer = all || modes.Contains(SamplingMode.Infer);
        using var brain = BrainOf(x0);
        // The t = 0 pass is deterministic: avg computes it once and sal reuses it.
        var made = new List<SliceMaps> { Avg(x0, brain, ct) };
        try
        {
            if (wantSal) made.Add(Repeated(SamplingMode.Sal, x0, brain, protocol.SalRepeats, made[0].Probability, ct));
            if (wantInfer) made.Add(Repeated(SamplingMode.Infer, x0, brain, protocol.InferRepeats, null, ct));
            if (all) made.Add(Union(made));
        }
        catch
        {
            // A cancelled or failed run hands back nothing, and keeps nothing: the modes already done go too.
            foreach (var m in made) m.Dispose();
            throw;
        }
        // Only the modes asked for are handed back; the parts made for another (avg for sal, the three for all) are freed.
        foreach (var m in made.Where(m => !modes.Contains(m.Mode))) m.Dispose();
        return made.Where(m => modes.Contains(m.Mode)).ToList();
    }

    /// <summary>1 inside the head (x0 above the background's -1), 0 outside, as float.</summary>
    private static Tensor BrainOf(Tensor x0)
    {
        using var inside = x0.gt(Sc.MinusOne);
        return inside.to_type(ScalarType.Float32);
    }

    private SliceMaps Avg(Tensor x0, Tensor brain, CancellationToken ct)
    {
        var s = x0.shape[0];
        var prob = zeros_like(x0).DetachFromDisposeScope();
        try
        {
            for (long i = 0; i < s; i += protocol.MaxBatch)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var n = Math.Min(protocol.MaxBatch, s - i);
                var p = model.DirectProbability(x0.narrow(0, i, n), brain.narrow(0, i, n));
                prob.narrow(0, i, n).copy_(p);
            }
        }
        catch
        {
            prob.Dispose();
            throw;
        }
        var mask = FinalMask(prob);
        var voxels = VoxelCount(mask);
        return new SliceMaps(SamplingMode.Avg, prob, zeros_like(prob).DetachFromDisposeScope(), mask, [voxels], (s + protocol.MaxBatch - 1) / protocol.MaxBatch);
    }

    /// <summary>Thresholding, isolated-point removal and (when asked) the 3-D minimum component size.</summary>
    private Tensor FinalMask(Tensor probability)
    {
        using var scope = NewDisposeScope();
        return DiscretePointRemoval.FinalMask(probability, protocol.Threshold, protocol.RemovalKernel, protocol.Removal, protocol.MinComponentVoxels)
            .DetachFromDisposeScope();
    }

    private SliceMaps Repeated(SamplingMode mode, Tensor x0, Tensor brain, int repeats, Tensor? avgProb, CancellationToken ct)
    {
        using var sum = zeros_like(x0).DetachFromDisposeScope();
        using var sumSq = zeros_like(x0).DetachFromDisposeScope();
        var repeatVoxels = new double[repeats];
        long passes = 0;
        ForEachChunk(mode, x0, brain, repeats, (chunk, idx, xc, bc, noise) =>
        {
            var (p, used) = mode == SamplingMode.Sal
                ? Salient(xc, bc, avgProb?.index_select(0, idx), noise)
                : Chain(xc, bc, noise);
            passes += used;
            sum.index_add_(0, idx, p, Sc.One);
            sumSq.index_add_(0, idx, p.Squared(), Sc.One);
            var kept = Torch.Tensors.ToArray(DiscretePointRemoval.Apply(p, protocol.Threshold, protocol.RemovalKernel, protocol.Removal).flatten(1).sum([1L]));
            for (var j = 0; j < chunk.Length; j++) repeatVoxels[chunk[j].Repeat] += kept[j];
        }, ct);
        using var scope = NewDisposeScope();
        using var count = ((double)repeats).ToScalar();
        var mean = sum / count;
        var std = ((sumSq / count) - mean.Squared()).clamp_min(Sc.Zero).sqrt();
        return new SliceMaps(mode, mean.DetachFromDisposeScope(), std.DetachFromDisposeScope(), FinalMask(mean), repeatVoxels, passes);
    }

    private static float VoxelCount(Tensor mask)
    {
        using var total = mask.sum();
        return total.item<float>();
    }

    /// <summary>The (slice, repeat) items of a stack, item k being slice k / repeats and repeat k % repeats, in chunks of at
    /// most <see cref="SamplingProtocol.MaxBatch"/>: per chunk its items, their slice indices, their x0 and brain rows and
    /// their noise, in a dispose scope of the chunk's own.</summary>
    private void ForEachChunk(SamplingMode mode, Tensor x0, Tensor brain, int repeats,
        Action<(int Slice, int Repeat)[], Tensor, Tensor, Tensor, ItemNoise> body, CancellationToken ct)
    {
        var items = (int)x0.shape[0] * repeats;
        for (var start = 0; start < items; start += protocol.MaxBatch)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var chunk = Enumerable.Range(start, Math.Min(protocol.MaxBatch, items - start)).Select(k => (Slice: k / repeats, Repeat: k % repeats)).ToArray();
            var idx = Torch.Tensors.From(chunk.Select(c => (long)c.Slice).ToArray(), x0.device);
            using var noise = new ItemNoise(protocol.Seed, mode, chunk, x0.shape, x0.device);
            body(chunk, idx, x0.index_select(0, idx), brain.index_select(0, idx), noise);
        }
    }

    /// <summary>sal: sum over the visited t in [0, Ti) of psi_t * p(y0_hat_t), one fresh noise per t, psi normalised.</summary>
    internal (Tensor P, long Passes) Salient(Tensor x0, Tensor brain, Tensor? avgProb, ItemNoise noise)
    {
        var (terms, passes) = SalientTerms(x0, brain, avgProb, noise);
        return (Weighted(terms, protocol.SalWeights()), passes);
    }

    /// <summary>sal's p(y0_hat_t) at each visited t (<see cref="SamplingProtocol.SalTimesteps"/>), before psi weights them.</summary>
    private (Tensor[] Terms, long Passes) SalientTerms(Tensor x0, Tensor brain, Tensor? avgProb, ItemNoise noise)
    {
        var timesteps = protocol.SalTimesteps();
        var terms = new Tensor[timesteps.Count];
        long passes = 0;
        for (var k = 0; k < timesteps.Count; k++)
        {
            var t = timesteps[k];
            if (t == 0 && avgProb is not null) terms[k] = avgProb.alias();
            else if (t == 0) terms[k] = model.DirectProbability(x0, brain);
            else
            {
                using var scope = NewDisposeScope();
                var eps = noise.Next() * brain;
                var xt = model.Diffusion.NoiseImage(x0, eps, brain, t);
                var (epsHat, ytHat) = model.Forward(xt, t, brain);
                terms[k] = (SegmentationLosses.Probability(model.Diffusion.Clean(ytHat, epsHat, t)) * brain).MoveToOuterDisposeScope();
                passes++;
            }
        }
        return (terms, passes);
    }

    /// <summary>sum_k w_k terms_k, clamped to [0, 1] (float rounding of the weights can overshoot 1).</summary>
    private static Tensor Weighted(IReadOnlyList<Tensor> terms, IReadOnlyList<double> weights)
    {
        var acc = zeros_like(terms[0]);
        for (var k = 0; k < terms.Count; k++)
        {
            using var w = weights[k].ToScalar();
            acc.add_(terms[k], alpha: w);
        }
        return acc.clamp_(Sc.Zero, Sc.One);
    }

    /// <summary>For tuning (project issue 12): sal's or infer's mean probability over the first n repeats for every n
    /// in <paramref name="counts"/>, and for sal with every nu in <paramref name="nus"/>, from one run of max(counts)
    /// repeats. Repeat r draws the same noise whatever N is (<see cref="ItemNoise"/>) and nu only weights sal's
    /// per-timestep maps, so each map equals <see cref="Run"/> with that N and nu up to float rounding: that of the
    /// chunking, and for sal that of weighting the repeats' mean instead of each repeat. The protocol's own repeats
    /// and nu are not read. Keys: (n, nu), nu = the protocol's for infer. <paramref name="avgProb"/>: avg's map of x0,
    /// sal's t = 0 term, when the caller has it (computed here otherwise).</summary>
    internal Dictionary<(int Repeats, double Nu), Tensor> RepeatedMeans(SamplingMode mode, Tensor x0, IReadOnlyCollection<int> counts,
        IReadOnlyCollection<double> nus, Tensor? avgProb = null, CancellationToken ct = default)
    {
        if (mode is not (SamplingMode.Sal or SamplingMode.Infer)) throw new ArgumentException($"only sal and infer repeat, not {SamplingModes.Name(mode)}.");
        if (counts.Count == 0 || counts.Any(n => n < 1)) throw new ArgumentException("repeat counts must be positive.");
        var sal = mode == SamplingMode.Sal;
        if (sal && (nus.Count == 0 || nus.Any(v => v < 1))) throw new ArgumentException("nu must be at least 1.");
        var repeats = counts.Max();
        var run = protocol with { SalRepeats = repeats, InferRepeats = repeats };
        run.Validate(model.Options.DiffusionSteps);
        var sampler = new StackSampler(model, run);
        using var brain = BrainOf(x0);
        using var avg = sal && avgProb is null ? sampler.Avg(x0, brain, ct) : null;
        var t0 = avgProb ?? avg?.Probability;
        var terms = sal ? run.SalTimesteps().Count : 1;
        var sums = counts.Distinct().ToDictionary(n => n, _ => Enumerable.Range(0, terms).Select(_ => zeros_like(x0).DetachFromDisposeScope()).ToArray());
        var result = new Dictionary<(int, double), Tensor>();
        try
        {
            sampler.ForEachChunk(mode, x0, brain, repeats, (chunk, idx, xc, bc, noise) =>
            {
                var p = sal ? sampler.SalientTerms(xc, bc, t0!.index_select(0, idx), noise).Terms : [sampler.Chain(xc, bc, noise).P];
                foreach (var (count, sum) in sums)
                {
                    var keep = Enumerable.Range(0, chunk.Length).Where(j => chunk[j].Repeat < count).Select(j => (long)j).ToArray();
                    if (keep.Length == 0) continue;
                    var all = keep.Length == chunk.Length;
                    var sel = Torch.Tensors.From(keep, x0.device);
                    var target = all ? idx : idx.index_select(0, sel);
                    for (var k = 0; k < terms; k++) sum[k].index_add_(0, target, all ? p[k] : p[k].index_select(0, sel), Sc.One);
                }
            }, ct);
            foreach (var (count, sum) in sums)
            {
                using var scope = NewDisposeScope();
                using var c = ((double)count).ToScalar();
                var means = sum.Select(t => t / c).ToArray();
                if (sal)
                    foreach (var nu in nus.Distinct()) result[(count, nu)] = Weighted(means, (run with { Nu = nu }).SalWeights()).DetachFromDisposeScope();
                else result[(count, run.Nu)] = means[0].DetachFromDisposeScope();
            }
            return result;
        }
        catch
        {
            // A cancelled or failed run hands back nothing: the maps made so far go with the sums (native memory,
            // which a long tuning would otherwise lose case after case).
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in sums.Values.SelectMany(s => s)) t.Dispose();
        }
    }

    private (Tensor P, long Passes) Chain(Tensor x0, Tensor brain, ItemNoise noise)
    {
        using var scope = NewDisposeScope();
        var (_, y, passes) = ReverseChain(x0, brain, noise);
        return ((SegmentationLosses.Probability(y) * brain).MoveToOuterDisposeScope(), passes);
    }

    /// <summary>infer (Algorithm 1): x_Ti from q (eq. 11), y_Ti from the label stream, then the synchronous reverse chain
    /// to t = 0 in the algorithm's form, x_s = sqrt(abar_s) x0_hat + B eps_hat + sigma z and y_s = sqrt(abar_s) y0_hat +
    /// B eps_hat + d noise(sigma) z, one z for both; returns the image and label chains' ends and the passes.</summary>
    internal (Tensor X, Tensor Y, long Passes) ReverseChain(Tensor x0, Tensor brain, ItemNoise noise)
    {
        var schedule = model.Diffusion.Schedule;
        var times = protocol.InferTimesteps();
        var eps0 = noise.Next() * brain;
        var x = model.Diffusion.NoiseImage(x0, eps0, brain, times[0]);
        var (epsHat, y) = model.Forward(x, times[0], brain);
        long passes = 1;
        for (var i = 0; i < times.Count - 1; i++)
        {
            var (t, s) = (times[i], times[i + 1]);
            var step = schedule.Reverse(t, s, protocol.Eta);
            using var scope = NewDisposeScope();
            var x0Hat = model.Diffusion.Clean(x, epsHat, t);
            var y0Hat = model.Diffusion.Clean(y, epsHat, t);
            if (protocol.Clamp)
            {
                x0Hat = x0Hat.clamp(Sc.MinusOne, Sc.One);
                y0Hat = y0Hat.clamp(Sc.MinusOne, Sc.One);
            }
            using var a = step.A.ToScalar();
            using var b = step.B.ToScalar();
            var xNext = (x0Hat * a).Plus(epsHat * b);
            var yNext = (y0Hat * a).Plus(epsHat * b);
            if (s > 0 && step.Sigma > 0)
            {
                var labelSigma = protocol.D * (protocol.LabelNoise == LabelNoise.Variance ? step.Sigma * step.Sigma : step.Sigma);
                using var sx = step.Sigma.ToScalar();
                using var sy = labelSigma.ToScalar();
                var z = noise.Next() * brain;
                xNext = xNext.Plus(z * sx);
                yNext = yNext.Plus(z * sy);
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
        return (x, y, passes);
    }

    private static SliceMaps Union(List<SliceMaps> parts)
    {
        using var scope = NewDisposeScope();
        var prob = parts.Select(p => p.Probability).Aggregate(maximum);
        var std = parts.Select(p => p.Std).Aggregate(maximum);
        var mask = parts.Select(p => p.Mask).Aggregate(maximum);
        // Repeats are not paired across modes; the union's spread is taken as the largest of its parts'.
        var spread = parts.Select(p => Sd(p.RepeatVoxels)).Max();
        var v = VoxelCount(mask);
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
