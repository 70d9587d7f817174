using System.Text.Json;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Contracts.Tuning;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;
using Sdpm.Engine.Sampling;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Cli.Tests;

/// <summary>A tiny run (2 training steps) on 8 small synthetic cases, with validation and test parts, shared by the tests.</summary>
public sealed class TunedRunFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("sdpm-cli-tune-").FullName;
    public string Data => Path.Combine(Dir, "cohort");
    public string Run => Path.Combine(Dir, "run");
    public DatasetSplit Split { get; }

    public TunedRunFixture()
    {
        CohortGenerator.Write(Data, new CohortOptions(8, 1, 5, LesionMode.Hemorrhage, Size: 64, Slices: 2, LesionFreeFraction: 0.25));
        var r = CliTestHost.Run("train", "--data", Data, "--out", Run, "--preset", "tiny", "--steps", "2", "--device", "cpu", "--progress", "none",
            "--test-fraction", "0.25", "--validation-fraction", "0.25");
        Assert.True(r.ExitCode == 0, r.Error);
        Split = DatasetSplit.Load(Path.Combine(Run, "split.json"));
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public sealed class TuneCommandTests(TunedRunFixture fx) : IClassFixture<TunedRunFixture>
{
    /// <summary>Small enough for a test: one Ti (T/10, stride 5), N = 1 and 2, nu = 1 and 2, two etas; thresholds, minimum
    /// sizes and removals.</summary>
    private static readonly TuningGrid Tiny = new("tiny", [0.1], [1, 2], [0.5], [1, 2], [LabelNoise.Std], [0, 1], [0.3, 0.5], [0, 20], [RemovalMode.Count, RemovalMode.Attention]);

    [Fact]
    public void TrainWithAValidationFractionSplitsThreeWaysAndTrainsOnTrainOnly()
    {
        Assert.NotEmpty(fx.Split.Validation);
        Assert.NotEmpty(fx.Split.Test);
        Assert.Equal(0.25, fx.Split.ValidationFraction);
        Assert.Empty(fx.Split.Train.Intersect(fx.Split.Validation.Concat(fx.Split.Test)));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(fx.Run, "run.json")));
        Assert.Equal(fx.Split.Train.Count, summary.RootElement.GetProperty("train_cases").GetInt32());
        Assert.Equal(fx.Split.Validation.Count, summary.RootElement.GetProperty("validation_cases").GetInt32());
    }

    [Fact]
    public void ASplitWithoutValidationIsWrittenAsBefore()
    {
        var cases = new CohortFolder(fx.Data).Cases;
        var options = new Sdpm.Engine.Contracts.Training.TrainingOptions(TestFraction: 0.25, Seed: 3);
        var dir = Path.Combine(fx.Dir, "split-as-before");
        Directory.CreateDirectory(dir);
        TrainingRun.NewSplit(cases, options).Save(Path.Combine(dir, "new.json"));
        PatientSplit.Create(cases, 0.25, 3).Save(Path.Combine(dir, "old.json"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "old.json")), File.ReadAllBytes(Path.Combine(dir, "new.json")));
        Assert.DoesNotContain("Validation", File.ReadAllText(Path.Combine(dir, "new.json")));
    }

    [Fact]
    public void TuneRefusesARunWithoutValidationCases()
    {
        var run = Path.Combine(fx.Dir, "no-validation");
        Directory.CreateDirectory(run);
        foreach (var f in Directory.GetFiles(fx.Run)) File.Copy(f, Path.Combine(run, Path.GetFileName(f)));
        new DatasetSplit(fx.Split.Seed, fx.Split.TestFraction, fx.Split.Train.Concat(fx.Split.Validation).Order(StringComparer.Ordinal).ToList(), fx.Split.Test)
            .Save(Path.Combine(run, "split.json"));
        var r = CliTestHost.Run("tune", "--model", run, "--data", fx.Data, "--device", "cpu");
        CliTestHost.AssertOneLineError(r, CliApp.Failure, "retrain with --validation-fraction");
        Assert.Contains("no validation cases", r.Error);
    }

    [Theory]
    [InlineData("--grid must be", "--grid", "huge")]
    [InlineData("--modes must be", "--modes", "avg,bogus")]
    [InlineData("unknown option --protocol", "--protocol", "fast")]
    public void BadTuneArgumentsGiveAUsageError(string message, params string[] extra)
    {
        var r = CliTestHost.Run(["tune", "--model", fx.Run, "--data", fx.Data, .. extra]);
        CliTestHost.AssertOneLineError(r, CliApp.Usage, message);
    }

    [Fact]
    public void TuneAvgPrintsJsonWritesTheTableAndScoresTestOnceApart()
    {
        var md = Path.Combine(fx.Dir, "tune-avg.md");
        var r = CliTestHost.Run("tune", "--model", fx.Run, "--data", fx.Data, "--modes", "avg", "--device", "cpu", "--json", "--score-test", "--out", md, "--progress", "none");
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal("quick", root.GetProperty("grid").GetString());
        Assert.Equal(fx.Split.Validation, root.GetProperty("validation_cases").EnumerateArray().Select(e => e.GetString()!));
        var avg = root.GetProperty("modes")[0];
        Assert.Equal(9, avg.GetProperty("rows").GetArrayLength()); // 3 thresholds x 3 minimum sizes
        Assert.Contains(avg.GetProperty("rows").EnumerateArray(), row => row.GetProperty("pareto").GetBoolean());
        var chosen = avg.GetProperty("chosen").GetProperty("row");
        Assert.True(chosen.GetProperty("pareto").GetBoolean());
        Assert.Equal(1, chosen.GetProperty("score").GetProperty("passes").GetInt64());
        // The chosen flags read back (as sdpm infer reads them) to the chosen protocol.
        var options = Parse(chosen.GetProperty("flags").GetString()!);
        var expected = TuningGrid.Protocol(500, NetworkSetting.Fast(500),
            new PostSetting(chosen.GetProperty("threshold").GetDouble(), chosen.GetProperty("min_component").GetInt32(), RemovalMode.Count));
        Assert.Equal(expected, options.ResolveProtocol(500));
        Assert.Equal([SamplingMode.Avg], options.Modes);
        // Held out: the test cases, apart from the validation ones.
        var held = avg.GetProperty("held_out_test");
        Assert.Equal(fx.Split.Test.Count, held.GetProperty("cases_scored").GetInt32());
        Assert.All(held.GetProperty("cases").EnumerateArray(), c => Assert.Contains(c.GetProperty("case").GetString(), fx.Split.Test));
        Assert.All(avg.GetProperty("chosen").GetProperty("validation_cases").EnumerateArray(), c => Assert.Contains(c.GetProperty("case").GetString(), fx.Split.Validation));
        var table = File.ReadAllText(md);
        Assert.Contains("| configuration | passes/slice | Dice | VDP | specificity | FP mL | front | chosen |", table);
        Assert.Contains("Held-out test", table);
        Assert.Contains("sdpm infer --modes avg", table);

        var text = CliTestHost.Run("tune", "--model", fx.Run, "--data", fx.Data, "--modes", "avg", "--device", "cpu", "--progress", "none");
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("chosen (avg): sdpm infer --modes avg --protocol fast", text.Out);
        Assert.DoesNotContain("HELD-OUT", text.Out);
    }

    private sealed class SyncProgress(Action<Sdpm.Engine.Contracts.Progress.EngineProgress> action) : IProgress<Sdpm.Engine.Contracts.Progress.EngineProgress>
    {
        public void Report(Sdpm.Engine.Contracts.Progress.EngineProgress value) => action(value);
    }

    [Fact]
    public void AKilledTuningGoesOnFromItsCheckpointAndScoresAsAnUninterruptedOne()
    {
        // The fixture's run with its test cases moved to validation, so that there is a case after the first.
        var run = Path.Combine(fx.Dir, $"run-more-validation-{Guid.NewGuid():N}");
        CopyFolder(fx.Run, run);
        var split = fx.Split with { Test = [] };
        split = split with { Validation = [.. fx.Split.Validation, .. fx.Split.Test] };
        split.Save(Path.Combine(run, "split.json"));
        var validation = split.Validation.Count;
        Assert.True(validation >= 2, "the test needs two validation cases");
        var file = Path.Combine(fx.Dir, $"checkpoint-{Guid.NewGuid():N}.jsonl");
        var request = new TuningRequest(run, new CohortFolder(fx.Data), [SamplingMode.Avg, SamplingMode.Sal], Tiny, "cpu", Checkpoint: file);

        // Stopped once its first case is finished (the cancellation arrives with that case's progress event).
        using (var cts = new CancellationTokenSource())
        {
            Assert.ThrowsAny<OperationCanceledException>(() => Tuning.Run(request,
                new SyncProgress(e => { if (e.Kind == Sdpm.Engine.Contracts.Progress.ProgressKind.Case) cts.Cancel(); }), cts.Token));
        }
        var lines = File.ReadAllLines(file);
        Assert.Equal(2, lines.Length); // which tuning it is, then the finished case
        Assert.Contains("\"tuning_checkpoint\":1", lines[0]);
        // A kill in the middle of a write leaves the last line cut short: it is dropped, that case computed again.
        File.AppendAllText(file, "{\"case\":\"half-writ");

        var events = new List<Sdpm.Engine.Contracts.Progress.EngineProgress>();
        var resumed = Tuning.Run(request, new SyncProgress(events.Add));
        Assert.Single(events, e => e.Message == "kept from the checkpoint");
        Assert.Contains(events, e => e.Message?.Contains("resuming: 1 cases kept") == true);
        Assert.Equal(1 + validation, File.ReadAllLines(file).Length);
        // The same rows, scores and per-case metrics as a tuning that was never stopped.
        var fresh = Tuning.Run(request with { Checkpoint = null });
        Assert.Equal(fresh.LesionFreeValidation, resumed.LesionFreeValidation);
        for (var i = 0; i < fresh.Modes.Count; i++)
        {
            Assert.Equal(fresh.Modes[i].Rows.Select(r => (r.Network, r.Post, r.Score)), resumed.Modes[i].Rows.Select(r => (r.Network, r.Post, r.Score)));
            Assert.Equal(fresh.Modes[i].Rows.SelectMany(r => r.Cases), resumed.Modes[i].Rows.SelectMany(r => r.Cases));
            Assert.Equal(fresh.Modes[i].Chosen.Protocol, resumed.Modes[i].Chosen.Protocol);
        }
        // Run again once finished: nothing is computed again.
        events.Clear();
        Tuning.Run(request, new SyncProgress(events.Add));
        Assert.Equal(validation, events.Count(e => e.Message == "kept from the checkpoint"));

        // Another tuning's file (here another grid) is refused with a way out, and left as it was.
        var before = File.ReadAllText(file);
        var r = CliTestHost.Run("tune", "--model", run, "--data", fx.Data, "--modes", "avg", "--grid", "post", "--device", "cpu", "--progress", "none", "--checkpoint", file);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("was written by another tuning", r.Error);
        Assert.Contains("delete it or name another file", r.Error);
        Assert.Equal(before, File.ReadAllText(file));
        // A damaged line before the last is not guessed at either.
        var damaged = Path.Combine(fx.Dir, $"damaged-{Guid.NewGuid():N}.jsonl");
        var kept = File.ReadAllLines(file);
        File.WriteAllLines(damaged, [kept[0], "{\"case\":", .. kept[1..]]);
        var e = Assert.Throws<ArgumentException>(() => Tuning.Run(request with { Checkpoint = damaged }));
        Assert.Contains("line 2 is damaged", e.Message);
    }

    /// <summary>A tensor made outside a dispose scope can be finalised by another thread's garbage collection while libtorch
    /// still reads it (Sdpm.Engine.Tests.TensorLifetimeTests); a tuning died of that after half an hour. Tuning makes every
    /// tensor in a scope, the loaded model's weights aside.</summary>
    [Fact]
    public void TuningMakesNoTensorOutsideADisposeScopeBesideTheModelsWeights()
    {
        static long MadeOutsideAScope() => TorchSharp.DisposeScopeManager.Statistics.TensorStatistics.CreatedOutsideScopeCount;
        var before = MadeOutsideAScope();
        using (SegmentationModel.Load(fx.Run, "cpu")) { }
        var weights = MadeOutsideAScope() - before;
        Assert.True(weights > 0);
        before = MadeOutsideAScope();
        var result = Tuning.Run(new TuningRequest(fx.Run, new CohortFolder(fx.Data), [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All], Tiny, "cpu", ScoreTest: true));
        Assert.Equal(weights, MadeOutsideAScope() - before);
        Assert.All(result.Modes, m => Assert.NotNull(m.Test)); // the test cases were scored too
    }

    [Fact]
    public void LesionFreeHeadsCountForSpecificityOnlyAndTheDefaultMustReachTheRequiredSpecificity()
    {
        // Six lesion-free heads of the fixture's grid, outside the run's split (another folder, another seed).
        var heads = Path.Combine(fx.Dir, $"heads-{Guid.NewGuid():N}");
        CohortGenerator.Write(heads, new CohortOptions(6, 1, 77, LesionMode.Hemorrhage, Size: 64, Slices: 2, LesionFreeFraction: 1.0));
        var request = new TuningRequest(fx.Run, new CohortFolder(fx.Data), [SamplingMode.Avg, SamplingMode.Sal], Tiny, "cpu");
        var without = Tuning.Run(request with { ScoreTest = true });
        var with = Tuning.Run(request with { LesionFree = new CohortFolder(heads), ScoreTest = true });

        Assert.Equal(6, with.LesionFreeHeads);
        Assert.Equal(without.ValidationCases, with.ValidationCases);
        Assert.Null(without.SpecificityFloor); // the fixture's validation part has fewer than 5 lesion-free patients
        Assert.Equal(ParetoFront.DefaultMinSpecificity, with.SpecificityFloor);
        for (var m = 0; m < with.Modes.Count; m++)
        {
            var rows = with.Modes[m].Rows;
            for (var i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                // Dice and VDP are the validation patients' alone, as without heads.
                Assert.Equal(without.Modes[m].Rows[i].Score.Dice, r.Score.Dice);
                Assert.Equal(without.Modes[m].Rows[i].Score.Vdp, r.Score.Vdp);
                Assert.Equal(without.Modes[m].Rows[i].Cases, r.Cases);
                // Specificity and FP mL over every lesion-free case, counted here from the per-case volumes.
                Assert.Equal(6, r.Heads.Count);
                Assert.All(r.Heads, h => Assert.StartsWith(Tuning.HeadPrefix, h.CaseId));
                Assert.All(r.Heads, h => Assert.Equal(0, h.VolumeRefMl));
                var free = r.Cases.Where(c => c.VolumeRefMl == 0).Select(c => c.VolumePredMl).Concat(r.Heads.Select(h => h.VolumePredMl)).ToList();
                Assert.Equal(free.Count, r.Score.LesionFreeCases);
                Assert.Equal(free.Count(v => v == 0) / (double)free.Count, r.Score.Specificity!.Value, 12);
                Assert.Equal(free.Average(), r.Score.LesionFreeMl!.Value, 9);
            }
            // The default reaches the floor (or the best specificity any row reaches), and no row that also reaches it is
            // more than the tolerance better in Dice.
            var bar = Math.Min(ParetoFront.DefaultMinSpecificity, rows.Max(r => r.Score.Specificity!.Value));
            var chosen = with.Modes[m].Chosen;
            Assert.True(chosen.Score.Specificity >= bar - 1e-12);
            Assert.DoesNotContain(rows, r => r.Score.Specificity >= bar - 1e-12 && r.Score.Dice > chosen.Score.Dice + ParetoFront.DiceTolerance);
            Assert.True(chosen.OnFront);
            // Beside it, what a tuning without the heads chooses, and its test score: the same as that tuning's own.
            Assert.Null(without.Modes[m].WithoutHeads);
            var alone = with.Modes[m].WithoutHeads!;
            Assert.Equal((without.Modes[m].Chosen.Network, without.Modes[m].Chosen.Post), (alone.Network, alone.Post));
            Assert.Equal(without.Modes[m].Test, with.Modes[m].TestWithoutHeads);
            Assert.Equal(without.Modes[m].TestCases, with.Modes[m].TestCasesWithoutHeads);
            Assert.All(with.Modes[m].TestCases!, c => Assert.Contains(c.CaseId, fx.Split.Test));
        }
        // 0 asks for no specificity: the rule as without heads (on scores that now count them).
        var free0 = Tuning.Run(request with { LesionFree = new CohortFolder(heads), MinSpecificity = 0 });
        Assert.Null(free0.SpecificityFloor);

        // The CLI: the heads in the header and the JSON; every row's validation-only score beside its score.
        var json = CliTestHost.Run("tune", "--model", fx.Run, "--data", fx.Data, "--modes", "avg", "--grid", "post", "--device", "cpu",
            "--progress", "none", "--lesion-free", heads, "--json");
        Assert.True(json.ExitCode == 0, json.Error);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(6, doc.RootElement.GetProperty("lesion_free_heads").GetInt32());
        Assert.Equal(0.9, doc.RootElement.GetProperty("specificity_floor").GetDouble());
        var row = doc.RootElement.GetProperty("modes")[0].GetProperty("rows")[0];
        Assert.Equal(6, row.GetProperty("lesion_free_heads").GetArrayLength());
        Assert.Equal(row.GetProperty("score").GetProperty("dice").GetDouble(), row.GetProperty("validation_score").GetProperty("dice").GetDouble());
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("modes")[0].GetProperty("chosen_without_heads").ValueKind);
        var text = CliTestHost.Run("tune", "--model", fx.Run, "--data", fx.Data, "--modes", "avg", "--grid", "post", "--device", "cpu",
            "--progress", "none", "--lesion-free", heads);
        Assert.Contains("and 6 lesion-free heads (specificity and FP mL only)", text.Out);
        Assert.Contains("specificity >= 0.9", text.Out);
        Assert.Contains("without the lesion-free heads the rule would choose:", text.Out);

        // Refused: the data folder itself, a folder that is not there, a head with a lesion.
        var same = CliTestHost.Run("tune", "--model", fx.Run, "--data", fx.Data, "--modes", "avg", "--device", "cpu", "--progress", "none", "--lesion-free", fx.Data);
        Assert.NotEqual(0, same.ExitCode);
        Assert.Contains("is the --data folder", same.Error);
        // The engine refuses it too, for callers other than the CLI, however the path is written.
        foreach (var spelt in new[] { fx.Data, fx.Data + Path.DirectorySeparatorChar, Path.Combine(fx.Data, "."), Path.Combine(fx.Data, "..", Path.GetFileName(fx.Data)) })
            Assert.Contains("is the data folder", Assert.Throws<ArgumentException>(() => Tuning.Run(request with { LesionFree = new CohortFolder(spelt) })).Message);
        var missing = CliTestHost.Run("tune", "--model", fx.Run, "--data", fx.Data, "--modes", "avg", "--device", "cpu", "--progress", "none", "--lesion-free", heads + "-nowhere");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("is not a folder of cases", missing.Error);
        var lesions = Path.Combine(fx.Dir, $"lesions-{Guid.NewGuid():N}");
        CohortGenerator.Write(lesions, new CohortOptions(2, 1, 78, LesionMode.Hemorrhage, Size: 64, Slices: 2, LesionFreeFraction: 0));
        var e = Assert.Throws<ArgumentException>(() => Tuning.Run(request with { LesionFree = new CohortFolder(lesions) }));
        Assert.Contains("has a lesion in its mask", e.Message);
        Assert.Contains("lesion-free heads only", e.Message);
    }

    [Fact]
    public void ATuningWithLesionFreeHeadsGoesOnFromItsCheckpointAndATuningWithoutThemDoesNotReadIt()
    {
        var heads = Path.Combine(fx.Dir, $"heads-{Guid.NewGuid():N}");
        CohortGenerator.Write(heads, new CohortOptions(2, 1, 79, LesionMode.Hemorrhage, Size: 64, Slices: 2, LesionFreeFraction: 1.0));
        var file = Path.Combine(fx.Dir, $"checkpoint-heads-{Guid.NewGuid():N}.jsonl");
        var request = new TuningRequest(fx.Run, new CohortFolder(fx.Data), [SamplingMode.Avg], Tiny, "cpu", Checkpoint: file, LesionFree: new CohortFolder(heads));
        // Stopped after the first head is finished: the validation cases and that head are kept.
        var finished = 0;
        using (var cts = new CancellationTokenSource())
        {
            Assert.ThrowsAny<OperationCanceledException>(() => Tuning.Run(request, new SyncProgress(e =>
            {
                if (e.Kind == Sdpm.Engine.Contracts.Progress.ProgressKind.Case && ++finished == fx.Split.Validation.Count + 1) cts.Cancel();
            }), cts.Token));
        }
        Assert.Equal(1 + fx.Split.Validation.Count + 1, File.ReadAllLines(file).Length);
        Assert.Contains(File.ReadAllLines(file), l => l.Contains($"\"case\":\"{Tuning.HeadPrefix}", StringComparison.Ordinal));
        var events = new List<Sdpm.Engine.Contracts.Progress.EngineProgress>();
        var resumed = Tuning.Run(request, new SyncProgress(events.Add));
        Assert.Equal(fx.Split.Validation.Count + 1, events.Count(e => e.Message == "kept from the checkpoint"));
        var fresh = Tuning.Run(request with { Checkpoint = null });
        Assert.Equal(fresh.Modes[0].Rows.Select(r => r.Score), resumed.Modes[0].Rows.Select(r => r.Score));
        Assert.Equal(fresh.Modes[0].Rows.SelectMany(r => r.Heads), resumed.Modes[0].Rows.SelectMany(r => r.Heads));
        // The same file for a tuning without the heads is another tuning's.
        var other = Assert.Throws<ArgumentException>(() => Tuning.Run(request with { LesionFree = null }));
        Assert.Contains("was written by another tuning", other.Message);
    }

    [Fact]
    public void TheChoiceDoesNotDependOnTestCases()
    {
        // A copy of the cohort whose test references are all foreground: the test scores change, the choice does not.
        var changed = Path.Combine(fx.Dir, "cohort-changed-test");
        CopyFolder(fx.Data, changed);
        var source = new CohortFolder(changed);
        foreach (var id in fx.Split.Test)
        {
            var mask = source.LoadReference(id)!;
            mask.Voxels.AsSpan().Fill(1);
            var file = Directory.EnumerateFiles(changed, id + ".nii*", SearchOption.AllDirectories).Single(f => f.Contains("mask", StringComparison.OrdinalIgnoreCase));
            NiftiWriter.Write(file, mask);
        }
        TuningResult Tune(string data) =>
            Tuning.Run(new TuningRequest(fx.Run, new CohortFolder(data), [SamplingMode.Avg, SamplingMode.Sal], Tiny, "cpu", ScoreTest: true));
        var a = Tune(fx.Data);
        var b = Tune(changed);
        for (var i = 0; i < a.Modes.Count; i++)
        {
            Assert.Equal(a.Modes[i].Chosen.Protocol, b.Modes[i].Chosen.Protocol);
            Assert.Equal(a.Modes[i].Rows.Select(r => r.Score), b.Modes[i].Rows.Select(r => r.Score));
            Assert.All(a.Modes[i].Rows.SelectMany(r => r.Cases), c => Assert.Contains(c.CaseId, fx.Split.Validation));
            Assert.NotEqual(a.Modes[i].TestCases!.Select(c => c.VolumeRefMl), b.Modes[i].TestCases!.Select(c => c.VolumeRefMl));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ThePostProcessingSweepEqualsInferenceWithTheConfigurationsFlags(int inferN)
    {
        // inferN = 2: infer's N swept apart from sal's (as the fast protocol's sal N = 2, infer N = 4).
        var grid = inferN == 1 ? Tiny : Tiny with { InferRepeats = [1, 2] };
        var result = Tuning.Run(new TuningRequest(fx.Run, new CohortFolder(fx.Data), SamplingModes.Every, grid, "cpu"));
        // One configuration of the union (all): sal N = 1 and nu = 2 (tuning takes both from a 2-repeat run's maps),
        // infer N = inferN, eta = 1, a threshold, a minimum component size, attention removal.
        var all = result.Modes.Single(m => m.Mode == SamplingMode.All);
        var row = all.Rows.Single(r => r.Network.Repeats == 1 && r.Network.InferN == inferN && r.Network is { Nu: 2, Eta: 1 }
            && r.Post == new PostSetting(0.3, 20, RemovalMode.Attention));
        Assert.Contains($"--sal-repeats 1 --infer-repeats {inferN} ", row.Flags + " ");
        var pred = Path.Combine(fx.Dir, "pred-" + Guid.NewGuid().ToString("N"));
        string[] flags = row.Flags.Replace("--modes all", "--modes avg,sal,infer,all", StringComparison.Ordinal).Split(' ');
        var r = CliTestHost.Run(["infer", "--model", fx.Run, "--data", fx.Data, "--out", pred, "--device", "cpu", "--progress", "none", .. flags]);
        Assert.True(r.ExitCode == 0, r.Error);
        var references = new CohortFolder(fx.Data);
        var compared = 0;
        var nonEmpty = 0;
        foreach (var mode in result.Modes)
        {
            // Each mode's row of the same setting (sal ignores d and eta, avg every network value: the same maps).
            var same = mode.Rows.Single(x => x.Network == row.Network.For(mode.Mode, 500) && x.Post == row.Post);
            foreach (var c in same.Cases)
            {
                var written = NiftiReader.ReadMask(Path.Combine(pred, SamplingModes.Name(mode.Mode), c.CaseId + ".nii.gz"));
                var direct = SegmentationMetrics.Case(c.CaseId, written, references.LoadReference(c.CaseId)!);
                Assert.Equal(direct, c);
                compared++;
                if (c.VolumePredMl > 0) nonEmpty++;
            }
        }
        Assert.Equal(4 * fx.Split.Validation.Count, compared);
        Assert.True(nonEmpty > 0, "every compared mask is empty: the comparison would prove little");
    }

    /// <summary>Reads printed "--key value ..." flags as sdpm infer's settings.</summary>
    private static InferenceOptions Parse(string flags)
    {
        var words = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i += 2) map[words[i][2..]] = words[i + 1];
        return InferenceOptions.FromSettings(map);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, f.Replace(from, to, StringComparison.Ordinal));
    }
}
