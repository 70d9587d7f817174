using System.Diagnostics;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Losses;
using Sdpm.Engine.Network;
using Sdpm.Engine.Schedule;
using Sdpm.Engine.Torch;
using Sdpm.Imaging.Synthetic;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Training;

/// <summary>What a finished training run reports.</summary>
public sealed record TrainingResult(int Steps, int StartStep, IReadOnlyDictionary<string, double> LastTerms, double Seconds, double SecondsPerStep, string Device, long Parameters, string? CheckpointPath);

/// <summary>Trains one model on prepared cases with the paper's recipe; checkpoints and resumes exactly.</summary>
/// <remarks>Every random draw of step i (slices, augmentation, t, noise) is derived from (seed, i), so a run resumed from a
/// checkpoint reproduces an uninterrupted one. Cancellation is honoured between steps: a checkpoint is written first.</remarks>
public sealed class Trainer : IDisposable
{
    private readonly TrainingOptions _options;
    private readonly SliceSampler _sampler;
    private readonly string _fingerprint;
    private readonly Device _device;
    private readonly SynchronousDiffusion _diffusion;
    private readonly Objective _objective;
    private readonly Adam _adam;
    private readonly Ema _ema;
    private readonly TimeProvider _time;

    public Trainer(TrainingOptions options, IReadOnlyList<PreparedCase> cases, string fingerprint, TimeProvider? time = null)
    {
        options.Validate();
        var config = options.Network();
        if (cases.Any(c => c.Size != config.ImageSize))
            throw new ArgumentException($"cases must be prepared at {config.ImageSize}x{config.ImageSize} for preset {options.Preset}.");
        _options = options;
        _fingerprint = fingerprint;
        _time = time ?? TimeProvider.System;
        _device = TorchDevice.Resolve(options.Device);
        _sampler = new SliceSampler(cases, options.LesionFreeRatio, options.Seed);
        _diffusion = new SynchronousDiffusion(new SigmoidSchedule(options.DiffusionSteps));
        _objective = new Objective(options.Model, _diffusion, options.LossesOrDefault);
        Network = ModelNetworks.Build(options.Model, config, (long)(options.Seed % long.MaxValue));
        Network.to(_device);
        var named = Network.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        _adam = new Adam(named, options.Beta1, options.Beta2);
        _ema = new Ema(named);
    }

    public DiffusionUNet Network { get; }

    public string DeviceName => TorchDevice.Describe(_device);

    /// <summary>The step the next call of <see cref="Train"/> starts from.</summary>
    public int Step { get; private set; }

    /// <summary>Restores weights, EMA, optimizer state and step from a checkpoint of the same data.</summary>
    public void Resume(string checkpointPath)
    {
        using var ckpt = Checkpoint.Load(checkpointPath);
        if (ckpt.Fingerprint != _fingerprint)
            throw new InvalidOperationException("cannot resume: the training data differ from the checkpoint's (fingerprint mismatch).");
        if (ckpt.Options.Model != _options.Model || ckpt.Options.Preset != _options.Preset || ckpt.Options.Seed != _options.Seed)
            throw new InvalidOperationException($"cannot resume: the checkpoint is {ModelKinds.Name(ckpt.Options.Model)}/{ckpt.Options.Preset}/seed {ckpt.Options.Seed}.");
        LoadWeights(Network, ckpt.Group("weights"));
        _ema.Load(ckpt.Group("ema"));
        _adam.Load(ckpt.Group("adam_m"), ckpt.Group("adam_v"), ckpt.OptimizerSteps);
        Step = ckpt.Step;
    }

    /// <summary>Fine-tuning: starts from a trained model's EMA weights (network and EMA alike) instead of a random
    /// initialisation; the optimizer and the step start afresh. The checkpoint must be of the same model kind, preset, image
    /// size, number of diffusion steps and preprocessing (<see cref="TrainingOptions.FineTuningRefusal"/>).</summary>
    /// <exception cref="InvalidOperationException">The checkpoint differs in one of those.</exception>
    public void InitializeFrom(string checkpointPath)
    {
        using var ckpt = Checkpoint.Load(checkpointPath);
        if (_options.FineTuningRefusal(ckpt.Options) is { } refusal) throw new InvalidOperationException($"cannot fine-tune: {refusal}");
        var weights = ckpt.Group("ema");
        LoadWeights(Network, weights);
        _ema.Load(weights);
    }

    /// <summary>Trains until the configured number of steps; returns what it did.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (after writing a checkpoint when a path is given).</exception>
    public TrainingResult Train(string? checkpointPath, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        var start = Step;
        var device = DeviceName;
        var t0 = _time.GetTimestamp();
        var lastReport = t0;
        var lastReportStep = start;
        IReadOnlyDictionary<string, double> terms = new Dictionary<string, double>();
        progress?.Report(new EngineProgress(ProgressKind.Start, device, start, _options.Steps,
            Message: $"{ModelKinds.Name(_options.Model)}/{_options.Preset}: {Network.ParameterCount():N0} parameters, {_sampler.PositiveSlices} lesion and {_sampler.NegativeSlices} lesion-free slices"));
        Network.train();
        while (Step < _options.Steps)
        {
            if (ct.IsCancellationRequested)
            {
                if (checkpointPath is not null) SaveCheckpoint(checkpointPath);
                ct.ThrowIfCancellationRequested();
            }
            terms = TrainStep(Step);
            Step++;
            if (Step % _options.EmaEvery == 0) _ema.Update(Ema.Decay(_options.EmaDecay, (Step / _options.EmaEvery) - 1, _options.EmaWarmup));
            var saved = checkpointPath is not null && (Step % _options.CheckpointEvery == 0 || Step == _options.Steps);
            if (saved) SaveCheckpoint(checkpointPath!);
            if (Step % _options.ReportEvery == 0 || Step == _options.Steps || Step == start + 1)
            {
                var now = _time.GetTimestamp();
                var secs = Math.Max(1e-9, _time.GetElapsedTime(lastReport, now).TotalSeconds);
                var perStep = secs / Math.Max(1, Step - lastReportStep);
                progress?.Report(new EngineProgress(ProgressKind.Step, device, Step, _options.Steps, terms, _options.LearningRateAt(Step - 1),
                    _options.BatchSize / perStep, perStep * (_options.Steps - Step)));
                lastReport = now;
                lastReportStep = Step;
            }
            if (saved) progress?.Report(new EngineProgress(ProgressKind.Checkpoint, device, Step, _options.Steps, Message: checkpointPath));
        }
        var elapsed = _time.GetElapsedTime(t0).TotalSeconds;
        var done = Step - start;
        progress?.Report(new EngineProgress(ProgressKind.Done, device, Step, _options.Steps, terms, Message: $"{done} steps in {elapsed:0.0} s"));
        return new TrainingResult(Step, start, terms, elapsed, done > 0 ? elapsed / done : 0, device, Network.ParameterCount(), checkpointPath);
    }

    /// <summary>One optimisation step (exposed for benchmarks).</summary>
    public IReadOnlyDictionary<string, double> TrainStep(int step)
    {
        using var scope = NewDisposeScope();
        var rng = Prng.Derive(_options.Seed, 11, (ulong)step);
        using var generator = new Generator(_options.Seed * 1_000_003UL + (ulong)step, _device);
        var (x0, lesion) = Batch(step);
        if (_options.AugmentationOrDefault.Enabled)
            (x0, lesion) = Augmentation.Apply(x0, lesion, _options.AugmentationOrDefault, rng, generator,
                Prng.Derive(_options.Seed, 12, (ulong)step), _options.PreprocessingOrDefault.WindowWidth);
        var t = new int[x0.shape[0]];
        if (_options.Model == ModelKind.Sdpm)
            for (var i = 0; i < t.Length; i++)
                t[i] = Math.Min(_options.DiffusionSteps - 1, (int)(_options.DiffusionSteps * Math.Pow(rng.NextDouble(), _options.TimeSamplingPower)));
        var eps = randn(x0.shape, device: _device, generator: generator);
        var (loss, terms) = _objective.Compute(Network, x0, lesion, t, eps);
        _adam.ZeroGrad();
        loss.backward();
        terms["grad_norm"] = _adam.ClipGradients(_options.GradClip);
        _adam.Step(_options.LearningRateAt(step));
        return terms;
    }

    /// <summary>The EMA weights as a name -> tensor map (shared, not copied).</summary>
    public IReadOnlyDictionary<string, Tensor> EmaWeights => _ema.Shadow;

    public void SaveCheckpoint(string path)
    {
        using var scope = NewDisposeScope(); // the detached views below live until the file is written
        using var ckpt = new Checkpoint
        {
            Options = _options, Step = Step, Fingerprint = _fingerprint, OptimizerSteps = _adam.StepCount, Device = DeviceName,
            ParameterCount = Network.ParameterCount(),
            Tensors = new()
            {
                ["weights"] = Network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu()),
                ["ema"] = _ema.Shadow.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu()),
                ["adam_m"] = _adam.FirstMoments.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu()),
                ["adam_v"] = _adam.SecondMoments.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu()),
            },
        };
        ckpt.Save(path);
    }

    /// <summary>Copies named tensors into a network's parameters.</summary>
    public static void LoadWeights(DiffusionUNet net, IReadOnlyDictionary<string, Tensor> weights)
    {
        using var _ = no_grad();
        foreach (var (name, p) in net.named_parameters())
        {
            if (!weights.TryGetValue(name, out var w)) throw new InvalidDataException($"checkpoint: weight '{name}' is missing.");
            if (!w.shape.SequenceEqual(p.shape)) throw new InvalidDataException($"checkpoint: weight '{name}' has shape [{string.Join(",", w.shape)}], expected [{string.Join(",", p.shape)}].");
            p.copy_(w);
        }
    }

    private (Tensor X, Tensor Lesion) Batch(int step)
    {
        var slices = _sampler.Batch(step, _options.BatchSize);
        var n = _options.Network().ImageSize;
        var len = n * n;
        var x = new float[slices.Count * len];
        var m = new float[slices.Count * len];
        for (var i = 0; i < slices.Count; i++)
        {
            var (c, z) = slices[i];
            c.Image.AsSpan(z * len, len).CopyTo(x.AsSpan(i * len, len));
            if (c.Mask is { } mask)
                for (var j = 0; j < len; j++) m[(i * len) + j] = mask[(z * len) + j];
        }
        return (Tensors.From(x, [slices.Count, 1, n, n], _device), Tensors.From(m, [slices.Count, 1, n, n], _device));
    }

    public void Dispose()
    {
        _adam.Dispose();
        _ema.Dispose();
        Network.Dispose();
    }
}
