using System.Diagnostics;
using Sdpm.Engine.Contracts.Predictions;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Preprocessing;
using Sdpm.Imaging.Volumes;
using static TorchSharp.torch;

namespace Sdpm.Engine.Sampling;

/// <summary>Predicts whole volumes: brain slices are stacked, sampled, post-processed, and mapped back to the input grid.</summary>
public sealed class CasePredictor(SegmentationModel model, SamplingProtocol protocol)
{
    /// <summary>The modes a model supports: all four for SDPM, the direct output (avg) for the baselines.</summary>
    public IReadOnlyList<SamplingMode> Supported(IReadOnlyList<SamplingMode> requested) =>
        model.Kind == ModelKind.Sdpm ? requested : [SamplingMode.Avg];

    public CasePrediction Predict(PreparedCase c, IReadOnlyList<SamplingMode> modes, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        if (c.Size != model.ImageSize) throw new ArgumentException($"{c.CaseId}: prepared at {c.Size}, the model expects {model.ImageSize}.");
        var use = Supported(modes);
        var n = c.Size;
        var results = new List<ModePrediction>();
        var sw = Stopwatch.StartNew();
        // Every tensor of the case is made in this scope, which holds them until the case is done (TensorLifetimeTests).
        using var scope = NewDisposeScope();
        var (brainSlices, stack) = BrainStack(c, model.Device);
        if (stack is null)
        {
            foreach (var m in use) results.Add(Empty(c, m));
            return new CasePrediction(c.CaseId, results, model.DeviceName);
        }
        using var x0 = stack;
        var maps = new StackSampler(model, protocol).Run(x0, use, ct);
        var seconds = sw.Elapsed.TotalSeconds;
        var voxelMl = c.ModelVoxelMl;
        foreach (var m in maps)
        {
            using (m)
            {
                var prob = Scatter(c, brainSlices, Torch.Tensors.ToArray(m.Probability));
                var std = Scatter(c, brainSlices, Torch.Tensors.ToArray(m.Std));
                var mask = MaskOnOriginalGrid(c, brainSlices, Torch.Tensors.ToArray(m.Mask));
                var repeats = m.RepeatVoxels.Select(v => v * voxelMl).ToArray();
                results.Add(new ModePrediction(m.Mode, mask, ToOriginal(prob, c), ToOriginal(std, c), MaskVolume.VolumeMl(mask), Sd(repeats), m.Passes, seconds));
                progress?.Report(new EngineProgress(ProgressKind.Mode, model.DeviceName, CaseId: c.CaseId, Mode: m.Mode,
                    Message: $"{MaskVolume.VolumeMl(mask):0.00} mL, {m.Passes} network calls (batched over slices and repeats)"));
            }
        }
        return new CasePrediction(c.CaseId, results, model.DeviceName);
    }

    private static double Sd(double[] v)
    {
        if (v.Length < 2) return 0;
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }

    /// <summary>A brain-slice stack's mask (model resolution, values &gt; 0.5 foreground) on the case's original grid, as
    /// <see cref="Predict"/> writes it.</summary>
    /// <summary>The slices of a case that hold brain, and their images stacked as [S,1,H,W] on a device (null when none).</summary>
    internal static (int[] Slices, Tensor? Stack) BrainStack(PreparedCase c, Device device)
    {
        var slices = Enumerable.Range(0, c.Slices).Where(c.HasBrain).ToArray();
        if (slices.Length == 0) return (slices, null);
        var len = c.SliceLength;
        var data = new float[slices.Length * len];
        for (var i = 0; i < slices.Length; i++) c.Image.AsSpan(slices[i] * len, len).CopyTo(data.AsSpan(i * len));
        return (slices, Torch.Tensors.From(data, [slices.Length, 1, c.Size, c.Size], device));
    }

    internal static Volume<byte> MaskOnOriginalGrid(PreparedCase c, int[] brainSlices, float[] stackMask) =>
        ToOriginalMask(Scatter(c, brainSlices, stackMask), c);

    private static float[] Scatter(PreparedCase c, int[] slices, float[] values)
    {
        var len = c.SliceLength;
        var full = new float[c.Slices * len];
        for (var i = 0; i < slices.Length; i++) values.AsSpan(i * len, len).CopyTo(full.AsSpan(slices[i] * len));
        return full;
    }

    private static Volume<float> ToOriginal(float[] modelRes, PreparedCase c)
    {
        var g = c.Original;
        var v = new Volume<float>(new Dims(c.Size, c.Size, c.Slices), Affine.Identity, modelRes);
        if (c.FieldMm is { } fieldMm)
        {
            var field = PhysicalField.For(g, fieldMm);
            var inField = field.Width == c.Size && field.Height == c.Size ? v : Resample.InPlaneLinear(v, field.Width, field.Height);
            return field.Take(inField, g, 0f);
        }
        var voxels = g.Dims.X == c.Size && g.Dims.Y == c.Size ? modelRes : Resample.InPlaneLinear(v, g.Dims.X, g.Dims.Y).Voxels;
        return new Volume<float>(g.Dims, g.Affine, voxels);
    }

    private static Volume<byte> ToOriginalMask(float[] modelRes, PreparedCase c)
    {
        var g = c.Original;
        var bytes = modelRes.Select(v => v > 0.5f ? (byte)1 : (byte)0).ToArray();
        var v = new Volume<byte>(new Dims(c.Size, c.Size, c.Slices), Affine.Identity, bytes);
        if (c.FieldMm is { } fieldMm)
        {
            var field = PhysicalField.For(g, fieldMm);
            var inField = field.Width == c.Size && field.Height == c.Size ? v : Resample.InPlaneNearest(v, field.Width, field.Height);
            return field.Take(inField, g, (byte)0);
        }
        var voxels = g.Dims.X == c.Size && g.Dims.Y == c.Size ? bytes : Resample.InPlaneNearest(v, g.Dims.X, g.Dims.Y).Voxels;
        return new Volume<byte>(g.Dims, g.Affine, voxels);
    }

    private static ModePrediction Empty(PreparedCase c, SamplingMode mode) =>
        new(mode, new Volume<byte>(c.Original), new Volume<float>(c.Original), new Volume<float>(c.Original), 0, 0, 0, 0);
}
