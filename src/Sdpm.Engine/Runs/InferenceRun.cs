using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Predictions;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Sampling;

namespace Sdpm.Engine.Runs;

/// <summary>An inference job: a trained run (or checkpoint), cases from a source, a sink for the predictions.</summary>
/// <param name="ModelPath">A run folder or a checkpoint file; the subsets of <see cref="InferenceOptions.Subset"/> need the
/// run folder's split.json beside the checkpoint.</param>
public sealed record InferenceRequest(string ModelPath, ICaseSource Source, IPredictionSink Sink, InferenceOptions Options);

/// <summary>Entry point shared by the CLI and the portal's job runner for inference.</summary>
/// <remarks>Each case is read, predicted in every supported mode and handed to the sink before the next one is read.</remarks>
public static class InferenceRun
{
    public static IReadOnlyList<PredictionSummary> Run(InferenceRequest request, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        using var model = SegmentationModel.Load(request.ModelPath, request.Options.Device);
        var protocol = request.Options.ResolveProtocol(model.Options.DiffusionSteps);
        var cases = Select(request.Source.Cases, request);
        var predictor = new CasePredictor(model, protocol);
        var modes = predictor.Supported(request.Options.Modes);
        progress?.Report(new EngineProgress(ProgressKind.Start, model.DeviceName, 0, cases.Count,
            Message: $"{ModelKinds.Name(model.Kind)}/{model.Options.Preset}, protocol {protocol.Name}{(request.Options.Sampling is { IsEmpty: false } o ? $" with {o.Describe()}" : "")}, modes {string.Join(",", modes.Select(SamplingModes.Name))}, {protocol.PassesPerSlice(modes)} passes per slice"));
        var written = new List<PredictionSummary>();
        var started = DateTime.UtcNow;
        for (var i = 0; i < cases.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var prepared = PreparedCase.Load(request.Source, cases[i], model.ImageSize, model.Options.PreprocessingOrDefault, withMask: false, ct);
            var prediction = predictor.Predict(prepared, modes, progress, ct);
            request.Sink.Write(prediction, ct);
            written.AddRange(prediction.Modes.Select(m => PredictionSummary.Of(prediction.CaseId, m)));
            var elapsed = (DateTime.UtcNow - started).TotalSeconds;
            progress?.Report(new EngineProgress(ProgressKind.Case, model.DeviceName, i + 1, cases.Count, CaseId: prepared.CaseId,
                SamplesPerSecond: (i + 1) / elapsed, EtaSeconds: elapsed / (i + 1) * (cases.Count - i - 1)));
        }
        request.Sink.Complete(ct);
        progress?.Report(new EngineProgress(ProgressKind.Done, model.DeviceName, cases.Count, cases.Count, Message: $"{written.Count} predictions in {request.Sink.Description}"));
        return written;
    }

    private static List<CaseDescriptor> Select(IReadOnlyList<CaseDescriptor> cases, InferenceRequest request)
    {
        if (request.Options.Subset is not { } subset) return cases.ToList();
        var name = DatasetSplit.SubsetName(subset);
        var splitPath = TrainingRun.SplitPathOf(request.ModelPath);
        if (!File.Exists(splitPath)) throw new ArgumentException($"subset {name} needs {splitPath}.");
        var ids = DatasetSplit.Load(splitPath).Cases(subset).ToHashSet(StringComparer.Ordinal);
        var list = cases.Where(s => ids.Contains(s.CaseId)).ToList();
        if (list.Count == 0) throw new ArgumentException($"no {name} cases of the model's split are in '{request.Source.Description}'.");
        return list;
    }
}
