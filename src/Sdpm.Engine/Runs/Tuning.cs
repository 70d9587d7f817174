using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Contracts.Tuning;
using Sdpm.Engine.Data;
using Sdpm.Engine.PostProcessing;
using Sdpm.Engine.Sampling;
using Sdpm.Imaging.Volumes;
using static TorchSharp.torch;

namespace Sdpm.Engine.Runs;

/// <summary>A tuning job: a trained run folder (with a validation part in its split.json), the cases, the modes, the grid.</summary>
/// <param name="ScoreTest">After choosing, score each mode's chosen configuration once on the split's test cases.</param>
/// <param name="Checkpoint">A JSON-lines file that keeps each validation case's scores as it is finished; a tuning started
/// again with the same file (same model, data, device, batch size and grid) goes on from the first case not in it.</param>
/// <param name="LesionFree">Lesion-free heads outside the run's split (another folder; a case there with a mask must have
/// an empty one): scored beside the validation cases for specificity and false-positive volume only, never for Dice or
/// VDP. One lesion-free validation patient cannot weigh specificity; ten heads can.</param>
/// <param name="MinSpecificity">With at least <see cref="ParetoFront.MinLesionFreeCases"/> lesion-free cases (validation
/// patients and <paramref name="LesionFree"/> heads), the default must reach this specificity (or the highest any
/// configuration reaches); 0 leaves specificity to the front alone.</param>
public sealed record TuningRequest(string RunDir, ICaseSource Source, IReadOnlyList<SamplingMode> Modes, TuningGrid Grid,
    string Device = "auto", int? MaxBatch = null, bool ScoreTest = false, string? Checkpoint = null,
    ICaseSource? LesionFree = null, double MinSpecificity = ParetoFront.DefaultMinSpecificity);

/// <summary>One configuration of one mode on the validation cases.</summary>
/// <param name="Cases">The validation cases' scores.</param>
/// <param name="Heads">The lesion-free heads' scores (<see cref="TuningRequest.LesionFree"/>; empty without them).</param>
public sealed record TuningRow(SamplingMode Mode, NetworkSetting Network, PostSetting Post, SamplingProtocol Protocol, TuningScore Score,
    bool OnFront, IReadOnlyList<CaseMetrics> Cases, IReadOnlyList<CaseMetrics> Heads)
{
    /// <summary>The <c>sdpm infer</c> flags of this configuration.</summary>
    public string Flags => TuningGrid.Flags(Mode, Protocol);
}

/// <summary>A mode's table, its chosen default and (when asked) the chosen default's held-out test score.</summary>
/// <param name="WithoutHeads">With lesion-free heads: the row the rule chooses from the validation cases alone, as a
/// tuning without them would (null without heads); with <see cref="TuningRequest.ScoreTest"/> it is scored on test too,
/// so that what the heads changed is measured, not guessed.</param>
public sealed record ModeTuning(SamplingMode Mode, IReadOnlyList<TuningRow> Rows, TuningRow Chosen, TuningScore? Test, IReadOnlyList<CaseMetrics>? TestCases,
    TuningRow? WithoutHeads = null, TuningScore? TestWithoutHeads = null, IReadOnlyList<CaseMetrics>? TestCasesWithoutHeads = null);

/// <summary>What <c>sdpm tune</c> found.</summary>
/// <param name="LesionFreeValidation">Validation cases with an empty reference (the denominator of specificity).</param>
/// <param name="UnlabelledValidation">Validation cases in the source without a reference mask (not scored).</param>
/// <param name="LesionFreeHeads">The lesion-free heads scored beside them (<see cref="TuningRequest.LesionFree"/>).</param>
/// <param name="SpecificityFloor">The specificity every mode's default had to reach (null: too few lesion-free cases,
/// or none asked for).</param>
public sealed record TuningResult(string Grid, int DiffusionSteps, IReadOnlyList<string> ValidationCases, int LesionFreeValidation,
    IReadOnlyList<string> TestCases, IReadOnlyList<ModeTuning> Modes, int UnlabelledValidation = 0, int LesionFreeHeads = 0,
    double? SpecificityFloor = null);

/// <summary>Chooses sampling defaults on the validation cases of a run's split (project issue 12): the network-dependent
/// maps are computed once per configuration and case, the post-processing sweep (threshold, minimum component, removal)
/// runs on the stored probability maps. The test cases are never read while choosing; with
/// <see cref="TuningRequest.ScoreTest"/> each chosen configuration is scored on them once, afterwards.</summary>
public static class Tuning
{
    public static TuningResult Run(TuningRequest request, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        var splitPath = TrainingRun.SplitPathOf(request.RunDir);
        if (!File.Exists(splitPath)) throw new ArgumentException($"tuning needs the run's split: {splitPath} does not exist.");
        var split = DatasetSplit.Load(splitPath);
        if (split.Validation.Count == 0)
            throw new ArgumentException($"the run's split has no validation cases; retrain with --validation-fraction F (tune never chooses on test cases).");
        using var model = SegmentationModel.Load(request.RunDir, request.Device);
        var T = model.Options.DiffusionSteps;
        // The baselines have only the direct output (avg), as in inference.
        request = request with { Modes = new CasePredictor(model, SamplingProtocol.Fast(T)).Supported(request.Modes) };

        var validation = Labelled(request.Source, split.Validation, "validation");
        var heads = LesionFreeHeads(request);
        var unlabelled = request.Source.Cases.Count(c => !c.HasReference && split.Validation.Contains(c.CaseId, StringComparer.Ordinal));
        var posts = request.Grid.PostSettings();
        var configs = request.Modes.ToDictionary(m => m, m => request.Grid.NetworkSettings(m, T));
        var total = configs.Sum(kv => kv.Value.Count) * posts.Count;
        var plan = request.Modes.ToDictionary(m => m, m => configs[m].Select(n => (n, posts)).ToList());
        TuningCheckpoint? checkpoint = null;
        if (request.Checkpoint is { } file)
        {
            var modelFile = Directory.Exists(request.RunDir) ? Path.Combine(request.RunDir, SegmentationModel.CheckpointFileName) : request.RunDir;
            // Without heads the identity is the one earlier tunings wrote, so their files go on being read.
            var fingerprint = request.Source.Fingerprint(validation.Select(c => c.CaseId), model.Options.PreprocessingOrDefault, ct);
            if (heads.Count > 0)
                fingerprint += "\nlesion-free " + request.LesionFree!.Fingerprint(heads.Select(c => c.CaseId), model.Options.PreprocessingOrDefault, ct);
            var identity = TuningCheckpoint.Identity(modelFile, fingerprint, validation.Select(c => c.CaseId).Concat(heads.Select(c => HeadPrefix + c.CaseId)),
                model.DeviceName, request.MaxBatch, T, Order(plan));
            checkpoint = TuningCheckpoint.Open(file, identity, total,
                $"sdpm tune of {Path.GetFullPath(request.RunDir)}, grid {request.Grid.Name}, modes {string.Join(",", request.Modes.Select(SamplingModes.Name))}, {validation.Count} validation cases");
        }
        var kept = checkpoint is null ? 0 : validation.Count(c => checkpoint.Done.ContainsKey(c.CaseId)) + heads.Count(c => checkpoint.Done.ContainsKey(HeadPrefix + c.CaseId));
        var all = validation.Count + heads.Count;
        progress?.Report(new EngineProgress(ProgressKind.Start, model.DeviceName, 0, all,
            Message: $"tuning {string.Join(",", request.Modes.Select(SamplingModes.Name))} on {validation.Count} validation cases"
                + (heads.Count > 0 ? $" and {heads.Count} lesion-free heads" : "") + $", grid {request.Grid.Name}: {total} configurations"
                + (kept > 0 ? $"; resuming: {kept} cases kept in {request.Checkpoint}" : "")));
        var scored = Evaluate(model, request.Source, validation, plan, request.MaxBatch, progress, ct, checkpoint, total: all);
        var headScores = heads.Count == 0 ? null
            : Evaluate(model, request.LesionFree!, heads, plan, request.MaxBatch, progress, ct, checkpoint, HeadPrefix, lesionFreeOnly: true, offset: validation.Count, total: all);

        var lesionFree = scored.LesionFree;
        var floor = ParetoFront.Floor(lesionFree + heads.Count, request.MinSpecificity);
        var modes = new List<ModeTuning>();
        foreach (var mode in request.Modes)
        {
            var rows = new List<(NetworkSetting N, PostSetting P, SamplingProtocol Protocol, TuningScore Score, IReadOnlyList<CaseMetrics> Cases, IReadOnlyList<CaseMetrics> Heads)>();
            foreach (var n in configs[mode])
                foreach (var p in posts)
                {
                    var protocol = TuningGrid.Protocol(T, n, p, request.MaxBatch);
                    var cases = scored.Cases[(mode, n, p)];
                    IReadOnlyList<CaseMetrics> headCases = headScores?.Cases[(mode, n, p)] ?? [];
                    rows.Add((n, p, protocol, Score(cases, protocol.PassesPerSlice([mode]), headCases), cases, headCases));
                }
            var scores = rows.Select(r => r.Score).ToList();
            var front = ParetoFront.Front(scores).ToHashSet();
            var chosen = ParetoFront.Choose(scores, floor);
            var table = rows.Select((r, i) => new TuningRow(mode, r.N, r.P, r.Protocol, r.Score, front.Contains(i), r.Cases, r.Heads)).ToList();
            var alone = heads.Count == 0 ? null
                : table[ParetoFront.Choose(rows.Select(r => Score(r.Cases, r.Score.Passes)).ToList(), ParetoFront.Floor(lesionFree, request.MinSpecificity))];
            modes.Add(new ModeTuning(mode, table, table[chosen], null, null, alone));
        }

        // Held out: the chosen configurations only (and, with heads, those chosen without them), scored once, after every
        // choice above is made.
        var testIds = new List<string>();
        if (request.ScoreTest)
        {
            var test = Labelled(request.Source, split.Test, "test", allowNone: true);
            testIds = test.Select(c => c.CaseId).ToList();
            if (test.Count > 0)
            {
                progress?.Report(new EngineProgress(ProgressKind.Info, model.DeviceName, Message: $"scoring the chosen defaults once on {test.Count} test cases (held out)"));
                // The chosen row, and the one chosen without the heads: one network run per distinct setting.
                var held = Evaluate(model, request.Source, test, modes.ToDictionary(m => m.Mode, m => new[] { m.Chosen, m.WithoutHeads }.OfType<TuningRow>()
                        .GroupBy(r => r.Network).Select(g => (g.Key, (IReadOnlyList<PostSetting>)g.Select(r => r.Post).Distinct().ToList())).ToList()),
                    request.MaxBatch, null, ct);
                modes = modes.Select(m =>
                {
                    var cases = held.Cases[(m.Mode, m.Chosen.Network, m.Chosen.Post)];
                    m = m with { Test = Score(cases, m.Chosen.Score.Passes), TestCases = cases };
                    if (m.WithoutHeads is not { } w) return m;
                    var other = held.Cases[(m.Mode, w.Network, w.Post)];
                    return m with { TestWithoutHeads = Score(other, w.Score.Passes), TestCasesWithoutHeads = other };
                }).ToList();
            }
        }
        progress?.Report(new EngineProgress(ProgressKind.Done, model.DeviceName, validation.Count, validation.Count, Message: $"{total} configurations scored"));
        return new TuningResult(request.Grid.Name, T, validation.Select(c => c.CaseId).ToList(), lesionFree, testIds, modes, unlabelled, heads.Count, floor);
    }

    /// <summary>Prefixes a lesion-free head's id where it sits beside validation cases (the checkpoint, the identity):
    /// the heads come from another folder, whose ids may repeat the cohort's.</summary>
    public const string HeadPrefix = "lesion-free/";

    /// <summary>Mean Dice, mean VDP over the cases with a non-empty reference (as <see cref="SegmentationMetrics.Aggregate"/>),
    /// and the share of lesion-free cases predicted empty, with their mean predicted volume; <paramref name="heads"/>
    /// (lesion-free heads outside the split) count for those two only.</summary>
    public static TuningScore Score(IReadOnlyList<CaseMetrics> cases, long passes, IReadOnlyList<CaseMetrics>? heads = null)
    {
        if (cases.Count == 0) throw new ArgumentException("no case to score.");
        var dice = cases.Average(c => c.Dice);
        var lesion = cases.Where(c => c.VolumeRefMl > 0).ToList();
        double? vdp = lesion.Count == 0 ? null : lesion.Average(c => Math.Abs(c.VolumePredMl - c.VolumeRefMl) / c.VolumeRefMl);
        var free = cases.Where(c => c.VolumeRefMl <= 0).Concat(heads ?? []).ToList();
        double? specificity = free.Count == 0 ? null : free.Count(c => c.VolumePredMl <= 0) / (double)free.Count;
        double? freeMl = free.Count == 0 ? null : free.Average(c => c.VolumePredMl);
        return new TuningScore(dice, vdp, specificity, passes, freeMl, free.Count);
    }

    /// <summary>Every case of <see cref="TuningRequest.LesionFree"/>; refused when it is the data folder itself (its
    /// cases are the split's) or holds none.</summary>
    private static List<CaseDescriptor> LesionFreeHeads(TuningRequest request)
    {
        if (request.LesionFree is not { } source) return [];
        if (SameSource(source, request.Source))
            throw new ArgumentException($"--lesion-free '{source.Description}' is the data folder: its cases are the run's split. Give lesion-free heads that no split part holds (another folder, e.g. `sdpm synth --lesion-free 1`).");
        var cases = source.Cases.ToList();
        if (cases.Count == 0) throw new ArgumentException($"--lesion-free '{source.Description}' holds no case.");
        return cases;
    }

    /// <summary>Whether two sources are one: folders by their full paths (however they were written), others by description.</summary>
    private static bool SameSource(ICaseSource a, ICaseSource b) => a is CohortFolder fa && b is CohortFolder fb
        ? string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(fa.Path)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(fb.Path)), StringComparison.Ordinal)
        : string.Equals(a.Description, b.Description, StringComparison.Ordinal);

    private static List<CaseDescriptor> Labelled(ICaseSource source, IReadOnlyList<string> ids, string part, bool allowNone = false)
    {
        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        var cases = source.Cases.Where(c => wanted.Contains(c.CaseId)).ToList();
        var labelled = cases.Where(c => c.HasReference).ToList();
        if (labelled.Count == 0 && !allowNone)
            throw new ArgumentException(cases.Count == 0
                ? $"none of the run's {ids.Count} {part} cases is in '{source.Description}'."
                : $"none of the run's {part} cases in '{source.Description}' has a reference mask.");
        return labelled;
    }

    /// <summary>The settings one repeated run serves: equal but for the part's N (and nu for sal).</summary>
    private static NetworkSetting Family(SamplingMode part, NetworkSetting s) =>
        part == SamplingMode.Sal ? s with { Repeats = 0, Nu = 0 } : s with { InferRepeats = 0 };

    private sealed record Scored(Dictionary<(SamplingMode, NetworkSetting, PostSetting), List<CaseMetrics>> Cases, int LesionFree);

    /// <summary>Every (mode, network setting, post-processing) of a plan, in the order a case's scores are kept.</summary>
    private static List<(SamplingMode Mode, NetworkSetting Network, PostSetting Post)> Order(
        Dictionary<SamplingMode, List<(NetworkSetting Network, IReadOnlyList<PostSetting> Posts)>> plan) =>
        plan.SelectMany(kv => kv.Value.SelectMany(v => v.Posts.Select(p => (kv.Key, v.Network, p)))).ToList();

    /// <summary>Per case: the probability maps of every needed (mode, network setting) once, then every post-processing
    /// setting on them; all (the union) from its parts' masks.</summary>
    /// <param name="keyPrefix">Before each case id in the checkpoint and the scores (<see cref="HeadPrefix"/> for heads).</param>
    /// <param name="lesionFreeOnly">The cases are lesion-free heads: a missing mask is an empty one, a mask with a lesion is refused.</param>
    private static Scored Evaluate(SegmentationModel model, ICaseSource source, IReadOnlyList<CaseDescriptor> cases,
        Dictionary<SamplingMode, List<(NetworkSetting Network, IReadOnlyList<PostSetting> Posts)>> plan, int? maxBatch, IProgress<EngineProgress>? progress, CancellationToken ct,
        TuningCheckpoint? checkpoint = null, string keyPrefix = "", bool lesionFreeOnly = false, int offset = 0, int? total = null)
    {
        var of = total ?? cases.Count;
        var T = model.Options.DiffusionSteps;
        var kernel = SamplingProtocol.Fast(T).RemovalKernel;
        var order = Order(plan);
        var results = order.ToDictionary(k => k, _ => new List<CaseMetrics>());
        var lesionFree = 0;
        // Every (part, setting) the plan reads; all reads its parts'.
        var needed = plan.SelectMany(kv => (kv.Key == SamplingMode.All ? [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer] : new[] { kv.Key })
                .SelectMany(part => kv.Value.Select(v => (Part: part, Setting: v.Network.For(part, T)))))
            .Distinct().ToList();
        for (var ci = 0; ci < cases.Count; ci++)
        {
            ct.ThrowIfCancellationRequested();
            var key = keyPrefix + cases[ci].CaseId;
            if (checkpoint is not null && checkpoint.Done.TryGetValue(key, out var kept))
            {
                // Scored by an earlier run of this tuning (the checkpoint's identity says so): its scores, not a recomputation.
                for (var k = 0; k < order.Count; k++) results[order[k]].Add(kept.Metrics[k]);
                if (kept.LesionFree) lesionFree++;
                progress?.Report(new EngineProgress(ProgressKind.Case, model.DeviceName, offset + ci + 1, of, CaseId: kept.CaseId, Message: "kept from the checkpoint"));
                continue;
            }
            var c = PreparedCase.Load(source, cases[ci], model.ImageSize, model.Options.PreprocessingOrDefault, withMask: false, ct);
            var reference = source.LoadReference(c.CaseId, ct) ?? (lesionFreeOnly ? new Volume<byte>(c.Original) : throw new ArgumentException($"{c.CaseId}: no reference mask."));
            var empty = reference.Voxels.AsSpan().IndexOfAnyExcept((byte)0) < 0;
            if (lesionFreeOnly && !empty)
                throw new ArgumentException($"--lesion-free: {c.CaseId} in '{source.Description}' has a lesion in its mask; that folder takes lesion-free heads only (no mask, or an empty one).");
            if (empty) lesionFree++;
            var scored = new Dictionary<(SamplingMode, NetworkSetting, PostSetting), CaseMetrics>();
            // Every tensor of the case is made in this scope, which holds them until the case is done (TensorLifetimeTests).
            using var caseScope = NewDisposeScope();
            var (brainSlices, x0) = CasePredictor.BrainStack(c, model.Device);
            var maps = new Dictionary<(SamplingMode, NetworkSetting), Tensor>();
            try
            {
                Tensor Map(SamplingMode part, NetworkSetting setting)
                {
                    var key = (part, setting.For(part, T));
                    if (maps.TryGetValue(key, out var t)) return t;
                    var protocol = TuningGrid.Protocol(T, key.Item2, new PostSetting(0.5, 0, RemovalMode.Count), maxBatch);
                    if (part == SamplingMode.Avg)
                    {
                        foreach (var m in new StackSampler(model, protocol).Run(x0!, [part], ct))
                        {
                            maps[key] = m.Probability;
                            m.Std.Dispose();
                            m.Mask.Dispose();
                        }
                        return maps[key];
                    }
                    // One run of the family's largest N gives every N of it (the first n repeats) and, for sal, every nu.
                    var family = needed.Where(k => k.Part == part && Family(part, k.Setting) == Family(part, key.Item2)).Select(k => k.Setting).ToList();
                    var avg = part == SamplingMode.Sal ? Map(SamplingMode.Avg, key.Item2) : null; // sal's t = 0 term, computed once a case
                    var produced = new StackSampler(model, protocol).RepeatedMeans(part, x0!, family.Select(f => f.RepeatsOf(part)).ToList(), family.Select(f => f.Nu).ToList(), avg, ct);
                    foreach (var (which, value) in produced)
                    {
                        var member = family.FirstOrDefault(f => f.RepeatsOf(part) == which.Repeats && (part != SamplingMode.Sal || f.Nu == which.Nu));
                        if (member is null) value.Dispose();
                        else maps[(part, member)] = value;
                    }
                    return maps[key];
                }
                foreach (var (mode, list) in plan)
                {
                    SamplingMode[] parts = mode == SamplingMode.All ? [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer] : [mode];
                    foreach (var (setting, posts) in list)
                    {
                        var probabilities = x0 is null ? [] : parts.Select(p => Map(p, setting)).ToArray(); // outside the scope below: kept for the case
                        foreach (var post in posts)
                        {
                            Volume<byte> mask;
                            if (x0 is null) mask = new Volume<byte>(c.Original);
                            else
                            {
                                using var scope = NewDisposeScope();
                                var union = probabilities.Select(p => DiscretePointRemoval.FinalMask(p, post.Threshold, kernel, post.Removal, post.MinComponentVoxels)).Aggregate(maximum);
                                mask = CasePredictor.MaskOnOriginalGrid(c, brainSlices, Torch.Tensors.ToArray(union));
                            }
                            scored[(mode, setting, post)] = SegmentationMetrics.Case(key, mask, reference);
                        }
                    }
                }
            }
            finally
            {
                x0?.Dispose();
                foreach (var t in maps.Values) t.Dispose();
            }
            foreach (var k in order) results[k].Add(scored[k]);
            checkpoint?.Add(new TunedCase(key, empty, order.Select(k => scored[k]).ToList()));
            progress?.Report(new EngineProgress(ProgressKind.Case, model.DeviceName, offset + ci + 1, of, CaseId: key));
        }
        return new Scored(results, lesionFree);
    }

}
