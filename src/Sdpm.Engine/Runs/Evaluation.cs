using Sdpm.Engine.Data;
using Sdpm.Engine.Metrics;
using Sdpm.Imaging.Nifti;

namespace Sdpm.Engine.Runs;

/// <summary>Evaluates a folder of predicted masks against reference masks, paired by file name.</summary>
public static class Evaluation
{
    /// <summary>Pairs PRED/CASE.nii(.gz) (ignoring *_prob and *_std maps) with REF/CASE or REF/masks/CASE.</summary>
    /// <exception cref="ArgumentException">A folder is missing, or no file pairs up.</exception>
    public static SetMetrics Run(string predDir, string refDir, int resamples = 2000, ulong seed = 20240601)
    {
        if (!Directory.Exists(predDir)) throw new ArgumentException($"prediction folder '{predDir}' does not exist.");
        if (!Directory.Exists(refDir)) throw new ArgumentException($"reference folder '{refDir}' does not exist.");
        var refRoot = Directory.Exists(Path.Combine(refDir, "masks")) ? Path.Combine(refDir, "masks") : refDir;
        var refs = Directory.EnumerateFiles(refRoot).Where(Cohort.IsNifti).ToDictionary(Cohort.CaseIdOf, f => f, StringComparer.Ordinal);
        var preds = Directory.EnumerateFiles(predDir).Where(Cohort.IsNifti)
            .Where(f => !Cohort.CaseIdOf(f).EndsWith("_prob", StringComparison.Ordinal) && !Cohort.CaseIdOf(f).EndsWith("_std", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (preds.Count == 0)
        {
            var modes = Directory.EnumerateDirectories(predDir).Select(Path.GetFileName).ToList();
            throw new ArgumentException(modes.Count > 0
                ? $"no masks in '{predDir}'; evaluate one mode folder: {string.Join(", ", modes)}."
                : $"no masks in '{predDir}'.");
        }
        var cases = new List<CaseMetrics>();
        foreach (var p in preds)
        {
            var id = Cohort.CaseIdOf(p);
            if (!refs.TryGetValue(id, out var r)) continue;
            cases.Add(SegmentationMetrics.Case(id, NiftiReader.ReadMask(p), NiftiReader.ReadMask(r)));
        }
        if (cases.Count == 0) throw new ArgumentException($"no prediction in '{predDir}' has a reference of the same name in '{refRoot}'.");
        return SegmentationMetrics.Aggregate(cases, resamples, seed);
    }
}
