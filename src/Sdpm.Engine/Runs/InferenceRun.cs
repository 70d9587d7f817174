using System.Globalization;
using System.Text;
using Sdpm.Engine.Data;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Training;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;

namespace Sdpm.Engine.Runs;

/// <summary>An inference job: a trained run (or checkpoint), a cohort folder, an output folder.</summary>
/// <param name="Subset">all, test or train: which cases of the model's split to predict (test/train need the run's split.json).</param>
public sealed record InferenceRequest(string ModelPath, string DataPath, string OutDir, IReadOnlyList<SamplingMode> Modes,
    string Protocol = "fast", string Subset = "all", string Device = "auto", int? MaxBatch = null);

/// <summary>One written prediction: case, mode, files and volume.</summary>
public sealed record WrittenPrediction(string CaseId, string Mode, string MaskPath, string ProbabilityPath, string UncertaintyPath, double VolumeMl, double VolumeSdMl, double Seconds);

/// <summary>Entry point shared by the CLI and the portal's job runner for inference.</summary>
/// <remarks>Writes OUT/MODE/CASE.nii.gz (uint8 mask), CASE_prob.nii.gz and CASE_std.nii.gz (float32) on the input grid, and
/// OUT/volumes.csv.</remarks>
public static class InferenceRun
{
    public static IReadOnlyList<WrittenPrediction> Run(InferenceRequest request, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        using var model = SegmentationModel.Load(request.ModelPath, request.Device);
        var protocol = SamplingProtocol.Named(request.Protocol, model.Options.DiffusionSteps);
        if (request.MaxBatch is { } mb) protocol = protocol with { MaxBatch = mb };
        var sources = Select(Cohort.Discover(request.DataPath), request);
        var predictor = new CasePredictor(model, protocol);
        var modes = predictor.Supported(request.Modes);
        progress?.Report(new EngineProgress("start", model.DeviceName, 0, sources.Count,
            Message: $"{Network.ModelKinds.Name(model.Kind)}/{model.Options.Preset}, protocol {protocol.Name}, modes {string.Join(",", modes.Select(SamplingModes.Name))}, {protocol.PassesPerSlice(modes)} passes per slice"));
        var written = new List<WrittenPrediction>();
        var started = DateTime.UtcNow;
        for (var i = 0; i < sources.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var prepared = Cohort.Prepare(sources[i], model.ImageSize, model.Options.PreprocessingOrDefault, withMask: false);
            var prediction = predictor.Predict(prepared, modes, progress, ct);
            foreach (var m in prediction.Modes)
            {
                var dir = Path.Combine(request.OutDir, m.Mode);
                Directory.CreateDirectory(dir);
                var mask = Path.Combine(dir, $"{prepared.CaseId}.nii.gz");
                var prob = Path.Combine(dir, $"{prepared.CaseId}_prob.nii.gz");
                var std = Path.Combine(dir, $"{prepared.CaseId}_std.nii.gz");
                MaskVolume.WriteNifti(mask, m.Mask, prepared.Original, new NiftiWriteOptions(Description: $"Sdpm {m.Mode} mask"));
                MaskVolume.WriteProbabilityNifti(prob, m.Probability, prepared.Original, new NiftiWriteOptions(Description: $"Sdpm {m.Mode} probability"));
                MaskVolume.WriteProbabilityNifti(std, m.Uncertainty, prepared.Original, new NiftiWriteOptions(Description: $"Sdpm {m.Mode} std over repeats"));
                written.Add(new WrittenPrediction(prepared.CaseId, m.Mode, mask, prob, std, m.VolumeMl, m.VolumeSdMl, m.Seconds));
            }
            var elapsed = (DateTime.UtcNow - started).TotalSeconds;
            progress?.Report(new EngineProgress("case", model.DeviceName, i + 1, sources.Count, CaseId: prepared.CaseId,
                SamplesPerSecond: (i + 1) / elapsed, EtaSeconds: elapsed / (i + 1) * (sources.Count - i - 1)));
        }
        WriteVolumes(Path.Combine(request.OutDir, "volumes.csv"), written);
        progress?.Report(new EngineProgress("done", model.DeviceName, sources.Count, sources.Count, Message: $"{written.Count} predictions in {request.OutDir}"));
        return written;
    }

    private static List<CaseSource> Select(IReadOnlyList<CaseSource> sources, InferenceRequest request)
    {
        if (request.Subset == "all") return sources.ToList();
        if (request.Subset is not ("test" or "train")) throw new ArgumentException($"subset must be all, test or train, got '{request.Subset}'.");
        var runDir = Directory.Exists(request.ModelPath) ? request.ModelPath : Path.GetDirectoryName(Path.GetFullPath(request.ModelPath))!;
        var splitPath = Path.Combine(runDir, TrainingRun.SplitFileName);
        if (!File.Exists(splitPath)) throw new ArgumentException($"subset {request.Subset} needs {splitPath}.");
        var split = DatasetSplit.Load(splitPath);
        var ids = (request.Subset == "test" ? split.Test : split.Train).ToHashSet(StringComparer.Ordinal);
        var list = sources.Where(s => ids.Contains(s.CaseId)).ToList();
        if (list.Count == 0) throw new ArgumentException($"no {request.Subset} cases of the model's split are in '{request.DataPath}'.");
        return list;
    }

    private static void WriteVolumes(string path, IEnumerable<WrittenPrediction> rows)
    {
        var sb = new StringBuilder("case,mode,volume_ml,volume_sd_ml,seconds\n");
        foreach (var r in rows)
            sb.Append(CultureInfo.InvariantCulture, $"{r.CaseId},{r.Mode},{r.VolumeMl:0.###},{r.VolumeSdMl:0.###},{r.Seconds:0.##}\n");
        File.WriteAllText(path, sb.ToString());
    }
}
