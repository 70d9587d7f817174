using System.Text.Json;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Training;

namespace Sdpm.Engine.Runs;

/// <summary>A training job: cases from a source (a cohort folder, the portal's database), a run folder out (checkpoint,
/// split, summary).</summary>
/// <param name="StepsOverride">On resume, a new total number of steps (null keeps the checkpoint's).</param>
/// <param name="InitialWeights">Fine-tuning: a parent checkpoint whose EMA weights the run starts from (ignored on resume,
/// where the run's own checkpoint already carries them).</param>
public sealed record TrainingRequest(ICaseSource Source, string RunDir, TrainingOptions Options, bool Resume = false, int? StepsOverride = null, string? InitialWeights = null);

/// <summary>Entry point shared by the CLI and the portal's job runner for training.</summary>
public static class TrainingRun
{
    public const string SplitFileName = "split.json";
    public const string SummaryFileName = "run.json";

    /// <summary>Where the split of a model lies: split.json in the run folder, or beside a checkpoint file.</summary>
    public static string SplitPathOf(string modelPath) =>
        Path.Combine(Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!, SplitFileName);

    /// <summary>The split of a new run: train/test as always, or train/validation/test when a validation fraction is set
    /// (then split.json also lists the validation cases; without one it reads exactly as before).</summary>
    public static DatasetSplit NewSplit(IReadOnlyList<CaseDescriptor> sources, TrainingOptions options) =>
        options.ValidationFraction > 0
            ? PatientSplit.Create(sources, new SplitFractions(1 - options.TestFraction - options.ValidationFraction, options.ValidationFraction, options.TestFraction), options.Seed)
            : PatientSplit.Create(sources, options.TestFraction, options.Seed);

    public static TrainingResult Run(TrainingRequest request, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        var checkpoint = Path.Combine(request.RunDir, SegmentationModel.CheckpointFileName);
        var options = request.Options;
        if (request.Resume)
        {
            if (!File.Exists(checkpoint)) throw new ArgumentException($"nothing to resume: no {SegmentationModel.CheckpointFileName} in '{request.RunDir}'.");
            var (saved, _, _) = Checkpoint.Peek(checkpoint);
            options = saved with { Steps = request.StepsOverride ?? saved.Steps, Device = request.Options.Device };
        }
        else if (File.Exists(checkpoint))
            throw new ArgumentException($"'{request.RunDir}' already holds a trained run; use --resume or another --out.");
        options.Validate();

        var sources = request.Source.Cases;
        var splitPath = Path.Combine(request.RunDir, SplitFileName);
        var split = request.Resume && File.Exists(splitPath) ? DatasetSplit.Load(splitPath) : NewSplit(sources, options);
        var train = sources.Where(s => split.Train.Contains(s.CaseId)).ToList();
        if (train.Count == 0) throw new ArgumentException("the split leaves no training cases.");
        var unlabeled = train.FirstOrDefault(s => !s.HasReference);
        if (unlabeled is not null) throw new ArgumentException($"training case {unlabeled.CaseId} has no mask.");

        Directory.CreateDirectory(request.RunDir);
        if (!File.Exists(splitPath)) split.Save(splitPath);
        var size = options.Network().ImageSize;
        var prep = options.PreprocessingOrDefault;
        var deviceName = Torch.TorchDevice.Describe(Torch.TorchDevice.Resolve(options.Device));
        progress?.Report(new EngineProgress(ProgressKind.Info, deviceName, Message: $"preparing {train.Count} training cases at {size}x{size} ({split.Test.Count} held out{(split.Validation.Count > 0 ? $", {split.Validation.Count} for validation" : "")})"));
        var cases = new List<PreparedCase>();
        foreach (var s in train)
        {
            ct.ThrowIfCancellationRequested();
            cases.Add(PreparedCase.Load(request.Source, s, size, prep, withMask: true, ct));
        }
        var fingerprint = request.Source.Fingerprint(train.Select(s => s.CaseId), prep, ct);
        using var trainer = new Trainer(options, cases, fingerprint);
        if (request.Resume) trainer.Resume(checkpoint);
        else if (request.InitialWeights is { } parent)
        {
            trainer.InitializeFrom(parent);
            progress?.Report(new EngineProgress(ProgressKind.Info, deviceName, Message: "starting from the parent model's weights (fine-tuning)"));
        }
        var result = trainer.Train(checkpoint, progress, ct);
        var summary = new
        {
            model = ModelKinds.Name(options.Model),
            preset = options.Preset,
            steps = result.Steps,
            seconds = result.Seconds,
            seconds_per_step = result.SecondsPerStep,
            device = result.Device,
            parameters = result.Parameters,
            train_cases = train.Count,
            test_cases = split.Test.Count,
            validation_cases = split.Validation.Count,
            fingerprint,
            last = result.LastTerms,
        };
        File.WriteAllText(Path.Combine(request.RunDir, SummaryFileName), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        return result;
    }
}
