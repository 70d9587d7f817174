using System.Diagnostics;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Torch;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Benchmarks;

/// <summary>Which slices to compare the protocols on: the largest-lesion slices of a few held-out cases.</summary>
/// <param name="Subset">Cases of this side of the model's split (when its run folder has one); null: any case.</param>
/// <param name="PaperRepeats">Repeats for the paper protocol's sal and infer (null: the paper's 100 and 50). Its timesteps are
/// always the paper's (every t below Ti).</param>
public sealed record ProtocolComparisonOptions(string ModelPath, ICaseSource Source, SplitSubset? Subset = SplitSubset.Test, int Cases = 4, int SlicesPerCase = 2,
    int? PaperRepeats = null, string Device = "auto", LesionType? Lesion = null);

/// <summary>Dice of one mode under both protocols on the same slices.</summary>
public sealed record ProtocolDice(string Mode, double FastDice, double PaperDice);

/// <summary>Result of running fast and paper protocols on the same slices.</summary>
public sealed record ProtocolComparisonResult(IReadOnlyList<string> CaseIds, int Slices, int PaperSalRepeats, int PaperInferRepeats,
    long FastPassesPerSlice, long PaperPassesPerSlice, double FastSeconds, double PaperSeconds, IReadOnlyList<ProtocolDice> Modes);

/// <summary>How far the fast protocol's Dice is from the paper protocol's, on the same slices of the same cases.</summary>
public static class ProtocolComparison
{
    public static ProtocolComparisonResult Run(ProtocolComparisonOptions o, CancellationToken ct = default)
    {
        using var model = SegmentationModel.Load(o.ModelPath, o.Device);
        var pool = Pool(o.ModelPath, o.Source, o.Subset);
        var chosen = pool.Where(c => c.Lesion != LesionType.None && (o.Lesion is null || c.Lesion == o.Lesion)).Take(o.Cases).ToList();
        if (chosen.Count == 0) throw new ArgumentException("no lesion cases to compare the protocols on.");

        var n = model.ImageSize;
        var len = n * n;
        var images = new List<float>();
        var refs = new List<byte>();
        foreach (var s in chosen)
        {
            var c = PreparedCase.Load(o.Source, s, n, model.Options.PreprocessingOrDefault, withMask: true, ct);
            var slices = Enumerable.Range(0, c.Slices).OrderByDescending(z => c.Mask!.AsSpan(z * len, len).Count((byte)1)).Take(o.SlicesPerCase);
            foreach (var z in slices)
            {
                images.AddRange(c.Image.AsSpan(z * len, len).ToArray());
                refs.AddRange(c.Mask!.AsSpan(z * len, len).ToArray());
            }
        }
        var count = refs.Count / len;
        using var x0 = Tensors.From(images.ToArray(), [count, 1, n, n], model.Device);
        var fast = SamplingProtocol.Fast(model.Options.DiffusionSteps);
        var paper = SamplingProtocol.Paper(model.Options.DiffusionSteps);
        if (o.PaperRepeats is { } r) paper = paper with { SalRepeats = r, InferRepeats = r };
        var modes = new[] { SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All };
        var (fastDice, fastSeconds) = DiceOf(model, fast, x0, refs.ToArray(), modes, ct);
        var (paperDice, paperSeconds) = DiceOf(model, paper, x0, refs.ToArray(), modes, ct);
        var rows = modes.Select(m => new ProtocolDice(SamplingModes.Name(m), fastDice[m], paperDice[m])).ToList();
        return new ProtocolComparisonResult(chosen.Select(c => c.CaseId).ToList(), count, paper.SalRepeats, paper.InferRepeats,
            fast.PassesPerSlice(modes), paper.PassesPerSlice(modes), fastSeconds, paperSeconds, rows);
    }

    /// <summary>The source's cases, only those of <paramref name="subset"/> of the model's split when its run folder has one.</summary>
    internal static List<CaseDescriptor> Pool(string modelPath, ICaseSource source, SplitSubset? subset)
    {
        IEnumerable<CaseDescriptor> pool = source.Cases;
        var splitPath = TrainingRun.SplitPathOf(modelPath);
        if (subset is { } side && File.Exists(splitPath))
        {
            var ids = DatasetSplit.Load(splitPath).Cases(side).ToHashSet(StringComparer.Ordinal);
            pool = pool.Where(c => ids.Contains(c.CaseId));
        }
        return pool.ToList();
    }

    private static (Dictionary<SamplingMode, double> Dice, double Seconds) DiceOf(SegmentationModel model, SamplingProtocol p,
        TorchSharp.torch.Tensor x0, byte[] reference, SamplingMode[] modes, CancellationToken ct)
    {
        using var scope = TorchSharp.torch.NewDisposeScope(); // holds every tensor of the run (TensorLifetimeTests)
        var sw = Stopwatch.StartNew();
        var maps = new StackSampler(model, p).Run(x0, modes, ct);
        var seconds = sw.Elapsed.TotalSeconds;
        var result = new Dictionary<SamplingMode, double>();
        foreach (var m in maps)
        {
            using (m)
            {
                var mask = Tensors.ToArray(m.Mask).Select(v => v > 0.5f ? (byte)1 : (byte)0).ToArray();
                result[m.Mode] = SegmentationMetrics.Dice(mask, reference);
            }
        }
        return (result, seconds);
    }
}
