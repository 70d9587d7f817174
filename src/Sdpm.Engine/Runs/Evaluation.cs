using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Data;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Runs;

/// <summary>Evaluates predicted masks against reference masks: per case, then over the set.</summary>
public static class Evaluation
{
    /// <summary>Pairs PRED/CASE.nii(.gz) (ignoring *_prob and *_std maps) with REF/CASE or REF/masks/CASE.</summary>
    /// <exception cref="ArgumentException">A folder is missing, or no file pairs up.</exception>
    public static SetMetrics Run(string predDir, string refDir, int resamples = 2000, ulong seed = 20240601)
    {
        if (!Directory.Exists(predDir)) throw new ArgumentException($"prediction folder '{predDir}' does not exist.");
        if (!Directory.Exists(refDir)) throw new ArgumentException($"reference folder '{refDir}' does not exist.");
        var references = new ReferenceFolder(refDir);
        var preds = Directory.EnumerateFiles(predDir).Where(CohortFolder.IsNifti)
            .Where(f => !CohortFolder.CaseIdOf(f).EndsWith("_prob", StringComparison.Ordinal) && !CohortFolder.CaseIdOf(f).EndsWith("_std", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (preds.Count == 0)
        {
            var modes = Directory.EnumerateDirectories(predDir).Select(Path.GetFileName).ToList();
            throw new ArgumentException(modes.Count > 0
                ? $"no masks in '{predDir}'; evaluate one mode folder: {string.Join(", ", modes)}."
                : $"no masks in '{predDir}'.");
        }
        var cases = Score(preds.Select(f => (CohortFolder.CaseIdOf(f), (Func<Volume<byte>>)(() => NiftiReader.ReadMask(f)))), references);
        if (cases.Count == 0) throw new ArgumentException($"no prediction in '{predDir}' has a reference of the same name in '{references.Root}'.");
        return SegmentationMetrics.Aggregate(cases, resamples, seed);
    }

    /// <summary>Per-case metrics of the predictions whose case has a reference, in the given order (others are skipped);
    /// a prediction is read only when its reference exists.</summary>
    public static IReadOnlyList<CaseMetrics> Score(IEnumerable<(string CaseId, Func<Volume<byte>> Load)> predictions, IReferenceSource references, CancellationToken ct = default)
    {
        var cases = new List<CaseMetrics>();
        foreach (var (id, load) in predictions)
        {
            ct.ThrowIfCancellationRequested();
            if (references.LoadReference(id, ct) is not { } reference) continue;
            cases.Add(SegmentationMetrics.Case(id, load(), reference));
        }
        return cases;
    }
}
