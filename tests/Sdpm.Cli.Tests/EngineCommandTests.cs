using System.Text.Json;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Cli.Tests;

public sealed class EngineCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdpm-cli-engine-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void AssertOneErrorLine(string err, string contains)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(contains, lines.First(l => l.StartsWith("error:", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("--data is required", "train", "--out", "x")]
    [InlineData("--model must be", "train", "--data", ".", "--out", "x", "--model", "resnet")]
    [InlineData("--preset must be", "train", "--data", ".", "--out", "x", "--preset", "huge")]
    [InlineData("--steps must be", "train", "--data", ".", "--out", "x", "--steps", "0")]
    [InlineData("--device must be", "train", "--data", ".", "--out", "x", "--device", "gpu")]
    [InlineData("--recipe must be", "train", "--data", ".", "--out", "x", "--recipe", "quick")]
    [InlineData("--ld1-weighting must be", "train", "--data", ".", "--out", "x", "--ld1-weighting", "p2")]
    [InlineData("--lr must be", "train", "--data", ".", "--out", "x", "--lr", "fast")]
    [InlineData("does not exist", "train", "--data", "/nonexistent/cohort", "--out", "x")]
    [InlineData("unknown option --epochs", "train", "--data", ".", "--out", "x", "--epochs", "3")]
    [InlineData("--modes must be", "infer", "--model", ".", "--data", ".", "--out", "x", "--modes", "avg,bogus")]
    [InlineData("--d must be", "infer", "--model", ".", "--data", ".", "--out", "x", "--d", "0")]
    [InlineData("--label-noise must be", "infer", "--model", ".", "--data", ".", "--out", "x", "--label-noise", "half")]
    [InlineData("--removal must be", "infer", "--model", ".", "--data", ".", "--out", "x", "--removal", "erode")]
    [InlineData("--dice-activation must be", "train", "--data", ".", "--out", "x", "--dice-activation", "tanh")]
    [InlineData("--protocol must be", "infer", "--model", ".", "--data", ".", "--out", "x", "--protocol", "slow")]
    [InlineData("--progress must be", "infer", "--model", ".", "--data", ".", "--out", "x", "--progress", "xml")]
    [InlineData("does not exist", "infer", "--model", "/nonexistent/run", "--data", ".", "--out", "x")]
    [InlineData("--pred is required", "eval", "--ref", ".")]
    [InlineData("is not a folder", "eval", "--pred", "/nonexistent/pred", "--ref", ".")]
    [InlineData("--preset must be", "bench", "--preset", "large")]
    public void BadEngineArgumentsGiveAUsageErrorOnOneLine(string message, params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(CliApp.Usage, code);
        AssertOneErrorLine(err, message);
    }

    [Fact]
    public void BenchCoreReportsTrainStepAndInferencePassOnly()
    {
        var r = Run("bench", "--core", "--json", "--preset", "tiny", "--batch", "2", "--steps", "2", "--passes", "2", "--slices", "2");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal("tiny", root.GetProperty("preset").GetString());
        Assert.Equal(2, root.GetProperty("batch_size").GetInt32());
        Assert.True(root.GetProperty("parameters").GetInt64() > 0);
        Assert.Equal(2, root.GetProperty("train_step_times").GetArrayLength());
        Assert.Equal(2, root.GetProperty("inference_pass_times").GetArrayLength());
        Assert.True(root.GetProperty("train_step_seconds").GetDouble() > 0);
        Assert.True(root.GetProperty("inference_pass_seconds").GetDouble() > 0);
        Assert.True(root.GetProperty("threads").GetInt32() >= 1);
    }

    [Fact]
    public void ResumingAnEmptyRunFailsWithOneLine()
    {
        var data = Synth(3);
        var (code, _, err) = Run("train", "--data", data, "--out", Path.Combine(_dir, "empty"), "--resume", "--preset", "tiny");
        Assert.Equal(CliApp.Failure, code);
        AssertOneErrorLine(err, "nothing to resume");
    }

    [Fact]
    public void InferWithAFolderThatIsNotARunFailsWithOneLine()
    {
        var data = Synth(3);
        var (code, _, err) = Run("infer", "--model", data, "--data", data, "--out", Path.Combine(_dir, "p"));
        Assert.Equal(CliApp.Failure, code);
        AssertOneErrorLine(err, "no checkpoint");
    }

    [Fact]
    public void EvalJsonHasTheDocumentedShape()
    {
        var pred = Directory.CreateDirectory(Path.Combine(_dir, "pred")).FullName;
        var reference = Directory.CreateDirectory(Path.Combine(_dir, "ref")).FullName;
        for (var i = 0; i < 3; i++)
        {
            WriteMask(Path.Combine(pred, $"c{i}.nii.gz"), 4 + i);
            WriteMask(Path.Combine(reference, $"c{i}.nii.gz"), 5 + (2 * i));
        }
        WriteMask(Path.Combine(pred, "c0_prob.nii.gz"), 3); // maps beside the masks are ignored
        var (code, output, err) = Run("eval", "--pred", pred, "--ref", reference, "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("n").GetInt32());
        Assert.Equal(0, root.GetProperty("n_vdp_excluded").GetInt32());
        var c0 = root.GetProperty("cases")[0];
        Assert.Equal("c0", c0.GetProperty("case").GetString());
        Assert.InRange(c0.GetProperty("dice").GetDouble(), 0, 1);
        Assert.True(c0.GetProperty("vol_pred_ml").GetDouble() > 0);
        Assert.True(c0.GetProperty("vol_ref_ml").GetDouble() > 0);
        foreach (var key in new[] { "dice", "vc", "vdp" })
            foreach (var f in new[] { "mean", "sd", "ci_low", "ci_high" })
                Assert.True(root.GetProperty(key).TryGetProperty(f, out _), $"{key}.{f}");
    }

    [Fact]
    public void TrainAndInferPrintOneJsonObjectPerLine()
    {
        var data = Synth(3);
        var run = Path.Combine(_dir, "run");
        var (code, output, err) = Run("train", "--data", data, "--out", run, "--preset", "tiny", "--steps", "2", "--device", "cpu", "--progress", "jsonl", "--test-fraction", "0");
        Assert.True(code == 0, err);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var step = events.First(e => e.GetProperty("kind").GetString() == "step");
        foreach (var key in new[] { "step", "total_steps", "terms", "learning_rate", "samples_per_second", "eta_seconds", "device" })
            Assert.True(step.TryGetProperty(key, out _), key);

        var pred = Path.Combine(_dir, "pred");
        // The paper's values, each one flag away (the engine README's deviations table).
        (code, output, err) = Run("infer", "--model", run, "--data", data, "--out", pred, "--modes", "avg,infer", "--progress", "jsonl", "--device", "cpu",
            "--d", "0.5", "--nu", "2", "--label-noise", "variance", "--removal", "attention", "--min-component", "3", "--eta", "0.5", "--infer-repeats", "2");
        Assert.True(code == 0, err);
        Assert.All(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => JsonDocument.Parse(l));
        Assert.True(File.Exists(Path.Combine(pred, "infer", "case0001.nii.gz")));
        (code, output, _) = Run("eval", "--pred", Path.Combine(pred, "avg"), "--ref", data);
        Assert.Equal(0, code);
        Assert.Contains("Dice", output);
    }

    [Theory]
    [InlineData("tiny", null, "budget", 1e-3, 1e-4, 2.0, true)]
    [InlineData("tiny", "paper", "paper", 1e-4, 6e-5, 1.0, false)]
    public void TrainStartsFromThePresetsRecipeAndRecordsIt(string preset, string? recipe, string expected, double lr, double lrMin, double power, bool alphaBar)
    {
        var data = Synth(3);
        var run = Path.Combine(_dir, "run-" + expected);
        string[] args = ["train", "--data", data, "--out", run, "--preset", preset, "--steps", "1", "--device", "cpu", "--progress", "none", "--test-fraction", "0"];
        if (recipe is not null) args = [.. args, "--recipe", recipe];
        var (code, _, err) = Run(args);
        Assert.True(code == 0, err);
        var (options, step, _) = Sdpm.Engine.Training.Checkpoint.Peek(Path.Combine(run, Sdpm.Engine.Sampling.SegmentationModel.CheckpointFileName));
        Assert.Equal(1, step);
        Assert.Equal(expected, options.Recipe);
        Assert.Equal(lr, options.LearningRate, 12);
        Assert.Equal(lrMin, options.MinLearningRate, 12);
        Assert.Equal(power, options.TimeSamplingPower);
        Assert.Equal(alphaBar, options.LossesOrDefault.Ld1AlphaBarWeighting);
        Assert.Equal(expected == "paper", options.LossesOrDefault.Ld1Eq13Weighting); // the paper's recipe weights Ld1 by eq. 13
    }

    [Fact]
    public void ExplicitOptionsOverrideTheRecipe()
    {
        var data = Synth(3);
        var run = Path.Combine(_dir, "run-override");
        var (code, output, err) = Run("train", "--data", data, "--out", run, "--preset", "tiny", "--steps", "1", "--device", "cpu", "--test-fraction", "0",
            "--lr", "5e-5", "--time-power", "1.5", "--ld1-weighting", "none");
        Assert.True(code == 0, err);
        Assert.Contains("(recipe budget)", output);
        var (options, _, _) = Sdpm.Engine.Training.Checkpoint.Peek(Path.Combine(run, Sdpm.Engine.Sampling.SegmentationModel.CheckpointFileName));
        Assert.Equal(5e-5, options.LearningRate, 12);
        Assert.Equal(5e-5, options.MinLearningRate, 12); // never above the initial rate
        Assert.Equal(1.5, options.TimeSamplingPower);
        Assert.False(options.LossesOrDefault.Ld1AlphaBarWeighting);
    }

    private string Synth(int cases)
    {
        var dir = Path.Combine(_dir, $"cohort{cases}");
        if (!Directory.Exists(dir)) CohortGenerator.Write(dir, new CohortOptions(cases, 1, 3, LesionMode.Hemorrhage, Size: 64, Slices: 2, LesionFreeFraction: 0));
        return dir;
    }

    private static void WriteMask(string path, int side)
    {
        var v = new Volume<byte>(new Dims(16, 16, 2), Affine.Canonical(new Spacing(1, 1, 2)));
        for (var y = 0; y < side; y++) for (var x = 0; x < side; x++) v[x, y, 1] = 1;
        NiftiWriter.Write(path, v);
    }
}
