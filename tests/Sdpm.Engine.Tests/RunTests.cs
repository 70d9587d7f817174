using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Tests;

public sealed class RunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdpm-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TrainInferAndEvaluateASynthCohortEndToEnd()
    {
        var data = Path.Combine(_dir, "cohort");
        CohortGenerator.Write(data, new CohortOptions(4, 2, 5, LesionMode.Hemorrhage, Size: 64, Slices: 3, LesionFreeFraction: 0));
        var run = Path.Combine(_dir, "run");
        var options = new TrainingOptions(Model: ModelKind.Sdpm, Preset: "tiny", Steps: 3, BatchSize: 2, Device: "cpu", TestFraction: 0.5, ReportEvery: 1);
        var events = new List<EngineProgress>();
        var result = TrainingRun.Run(new TrainingRequest(new CohortFolder(data), run, options), new Collect(events));
        Assert.Equal(3, result.Steps);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.sdpm")));
        Assert.True(File.Exists(Path.Combine(run, TrainingRun.SplitFileName)));
        Assert.Contains(events, e => e.Kind == ProgressKind.Done);

        // A second training into the same folder is refused; resuming to more steps continues.
        Assert.Throws<ArgumentException>(() => TrainingRun.Run(new TrainingRequest(new CohortFolder(data), run, options)));
        var resumed = TrainingRun.Run(new TrainingRequest(new CohortFolder(data), run, options, Resume: true, StepsOverride: 4));
        Assert.Equal(3, resumed.StartStep);
        Assert.Equal(4, resumed.Steps);

        var pred = Path.Combine(_dir, "pred");
        var written = InferenceRun.Run(new InferenceRequest(run, new CohortFolder(data), new PredictionFolder(pred), new InferenceOptions([SamplingMode.Avg, SamplingMode.Sal], "fast", Subset: SplitSubset.Test, Device: "cpu")));
        Assert.Equal(2 * 2, written.Count);
        Assert.True(File.Exists(Path.Combine(pred, "sal", $"{written[0].CaseId}_prob.nii.gz")));
        Assert.True(File.Exists(Path.Combine(pred, "sal", $"{written[0].CaseId}_std.nii.gz")));

        var metrics = Evaluation.Run(Path.Combine(pred, "avg"), data);
        Assert.Equal(2, metrics.N);
        Assert.Null(metrics.Vc.Mean); // fewer than 3 cases
        Assert.Throws<ArgumentException>(() => Evaluation.Run(pred, data)); // mode folders, no masks at the top
    }

    private sealed class Collect(List<EngineProgress> list) : IProgress<EngineProgress>
    {
        public void Report(EngineProgress value) => list.Add(value);
    }
}
