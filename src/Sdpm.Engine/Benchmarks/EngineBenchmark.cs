using System.Diagnostics;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Network;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Torch;
using Sdpm.Engine.Training;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using static TorchSharp.torch;

namespace Sdpm.Engine.Benchmarks;

/// <summary>What to measure: preset, device, batch, volume depth, repeats for the batched-versus-sequential comparison.</summary>
public sealed record BenchmarkOptions(string Preset = "small", string Device = "auto", int BatchSize = 8, int TrainSteps = 3,
    int VolumeSlices = 16, int Repeats = 16, int MaxBatch = 32, int Passes = 5);

/// <summary>The core figures alone: median train step and median inference pass (one forward under no_grad, same batch),
/// for comparing with another framework on exactly the same shapes (scripts/bench-pytorch.sh).</summary>
public sealed record CoreBenchmarkResult(
    string Preset, string Device, string Allocator, string OneDnnIsa, int Threads, string TorchSharpVersion, long Parameters,
    int ImageSize, int BatchSize, double TrainStepSeconds, IReadOnlyList<double> TrainStepTimes,
    double InferencePassSeconds, IReadOnlyList<double> InferencePassTimes);

/// <summary>Samples (slice-passes) per second of one mode under the fast protocol.</summary>
public sealed record ModeThroughput(string Mode, long Passes, long Samples, double Seconds, double SamplesPerSecond);

/// <summary>The benchmark's figures; paper-protocol volume times are extrapolated from the measured pass rate.</summary>
public sealed record BenchmarkResult(
    string Preset, string Device, string Allocator, long Parameters, int ImageSize, int BatchSize,
    double TrainStepSeconds, double TrainSamplesPerSecond,
    IReadOnlyList<ModeThroughput> Modes,
    int VolumeSlices, double FastVolumeSeconds, long FastPassesPerSlice, long PaperPassesPerSlice, double PaperVolumeSecondsEstimated,
    double SequentialSeconds, double BatchedSeconds, double BatchSpeedup,
    long PeakRssBytes);

/// <summary>Times training steps and inference of a randomly initialised SDPM network on phantom data.</summary>
public static class EngineBenchmark
{
    public static BenchmarkResult Run(BenchmarkOptions o, IProgress<EngineProgress>? progress = null, CancellationToken ct = default)
    {
        var config = NetworkConfig.FromPreset(o.Preset);
        var n = config.ImageSize;
        var cases = Enumerable.Range(0, 2).Select(i => Phantom($"bench{i}", n, Math.Max(2, o.VolumeSlices), (ulong)(i + 1))).ToList();
        var options = new TrainingOptions(Preset: o.Preset, Steps: o.TrainSteps + 1, BatchSize: o.BatchSize, Device: o.Device, ReportEvery: 1000, CheckpointEvery: 100_000);
        double stepSeconds;
        Dictionary<string, Tensor> weights;
        long parameters;
        string device;
        using (var trainer = new Trainer(options, cases, "bench"))
        {
            device = trainer.DeviceName;
            parameters = trainer.Network.ParameterCount();
            trainer.TrainStep(0); // warm-up: allocator and kernels
            var times = new List<double>();
            for (var i = 1; i <= o.TrainSteps; i++)
            {
                ct.ThrowIfCancellationRequested();
                var sw = Stopwatch.StartNew();
                trainer.TrainStep(i);
                times.Add(sw.Elapsed.TotalSeconds);
                progress?.Report(new EngineProgress(ProgressKind.Info, device, i, o.TrainSteps, Message: $"train step {sw.Elapsed.TotalSeconds:0.000} s"));
            }
            stepSeconds = Median(times);
            using (NewDisposeScope()) weights = trainer.EmaWeights.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        }

        using var model = SegmentationModel.FromWeights(options, weights, o.Device);
        foreach (var w in weights.Values) w.Dispose();
        using var inferenceScope = NewDisposeScope(); // holds every tensor of the inference timings (TensorLifetimeTests)
        var fast = SamplingProtocol.Fast(options.DiffusionSteps) with { MaxBatch = o.MaxBatch };
        var volume = cases[0];
        var modes = new List<ModeThroughput>();
        using var x1 = SliceStack(volume, model.Device, 1);
        foreach (var mode in new[] { SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer })
        {
            ct.ThrowIfCancellationRequested();
            using var stack = mode == SamplingMode.Avg ? SliceStack(volume, model.Device, volume.Slices) : x1.alias();
            var sw = Stopwatch.StartNew();
            var maps = new StackSampler(model, fast).Run(stack, [mode], ct);
            var secs = sw.Elapsed.TotalSeconds;
            var passes = maps.Sum(m => m.Passes);
            var repeats = mode switch { SamplingMode.Sal => fast.SalRepeats, SamplingMode.Infer => fast.InferRepeats, _ => 1 };
            var samples = mode == SamplingMode.Avg ? stack.shape[0] : repeats * PassesPerRepeat(fast, mode);
            foreach (var m in maps) m.Dispose();
            modes.Add(new ModeThroughput(SamplingModes.Name(mode), passes, samples, secs, samples / secs));
            progress?.Report(new EngineProgress(ProgressKind.Info, device, Mode: mode, SamplesPerSecond: samples / secs));
        }

        var predictor = new CasePredictor(model, fast);
        var swVol = Stopwatch.StartNew();
        predictor.Predict(volume, [SamplingMode.All], null, ct);
        var fastVolume = swVol.Elapsed.TotalSeconds;
        var paper = SamplingProtocol.Paper(options.DiffusionSteps);
        var allModes = new[] { SamplingMode.All };
        var fastPasses = fast.PassesPerSlice(allModes);
        var paperPasses = paper.PassesPerSlice(allModes);
        var paperEstimate = fastVolume * paperPasses / fastPasses;

        // Batched against sequential repeats: the same sal work with MaxBatch = repeats and MaxBatch = 1.
        var probe = fast with { SalRepeats = o.Repeats, SalStride = Math.Max(1, fast.Ti / 3) };
        var swSeq = Stopwatch.StartNew();
        foreach (var m in new StackSampler(model, probe with { MaxBatch = 1 }).Run(x1, [SamplingMode.Sal], ct)) m.Dispose();
        var sequential = swSeq.Elapsed.TotalSeconds;
        var swBat = Stopwatch.StartNew();
        foreach (var m in new StackSampler(model, probe with { MaxBatch = Math.Max(o.Repeats, 1) }).Run(x1, [SamplingMode.Sal], ct)) m.Dispose();
        var batched = swBat.Elapsed.TotalSeconds;

        return new BenchmarkResult(o.Preset, device, Allocator(), parameters, n, o.BatchSize, stepSeconds, o.BatchSize / stepSeconds, modes,
            volume.Slices, fastVolume, fastPasses, paperPasses, paperEstimate, sequential, batched, sequential / batched, PeakRss());
    }

    /// <summary>Train steps (after one warm-up) and inference passes (after one warm-up) of the benchmark's trainer, nothing else.</summary>
    public static CoreBenchmarkResult RunCore(BenchmarkOptions o, CancellationToken ct = default)
    {
        TorchRuntime.EnsureInitialized();
        var config = NetworkConfig.FromPreset(o.Preset);
        var n = config.ImageSize;
        var cases = Enumerable.Range(0, 2).Select(i => Phantom($"bench{i}", n, Math.Max(2, o.VolumeSlices), (ulong)(i + 1))).ToList();
        var options = new TrainingOptions(Preset: o.Preset, Steps: o.TrainSteps + 1, BatchSize: o.BatchSize, Device: o.Device, ReportEvery: 1000, CheckpointEvery: 100_000);
        using var trainer = new Trainer(options, cases, "bench");
        var net = trainer.Network;
        net.train();
        trainer.TrainStep(0);
        var steps = new List<double>();
        for (var i = 1; i <= o.TrainSteps; i++)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            trainer.TrainStep(i);
            steps.Add(sw.Elapsed.TotalSeconds);
        }
        net.eval();
        using var inferenceScope = NewDisposeScope(); // holds every tensor of the inference timings (TensorLifetimeTests)
        var device = TorchDevice.Resolve(o.Device);
        using var x = SliceStack(cases[0], device, Math.Min(o.BatchSize, cases[0].Slices));
        using var xb = x.shape[0] == o.BatchSize ? x.alias() : x.repeat(((o.BatchSize + x.shape[0] - 1) / x.shape[0]), 1, 1, 1).narrow(0, 0, o.BatchSize);
        using var t = Tensors.From(Enumerable.Range(0, o.BatchSize).Select(i => (float)(10 + (20 * i))).ToArray(), device);
        var passes = new List<double>();
        for (var i = 0; i <= o.Passes; i++)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var outs = net.forward(xb, t);
                _ = outs[0].sum().item<float>(); // forces completion on an asynchronous device
            }
            if (i > 0) passes.Add(sw.Elapsed.TotalSeconds); // pass 0 is the warm-up
        }
        var version = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?";
        return new CoreBenchmarkResult(o.Preset, trainer.DeviceName, Allocator(), TorchRuntime.OneDnnIsa, TorchSharp.torch.get_num_threads(), version,
            net.ParameterCount(), n, o.BatchSize, Median(steps), steps, Median(passes), passes);
    }

    /// <summary>"tcmalloc" when libtcmalloc is mapped into this process (LD_PRELOAD), else "glibc".</summary>
    public static string Allocator()
    {
        try { return File.ReadAllText("/proc/self/maps").Contains("tcmalloc", StringComparison.Ordinal) ? "tcmalloc" : "glibc"; }
        catch (IOException) { return "unknown"; }
    }

    /// <summary>Peak resident set size of this process (VmHWM), in bytes; 0 when unknown.</summary>
    public static long PeakRss()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { return 0; }
    }

    private static long PassesPerRepeat(SamplingProtocol p, SamplingMode mode) =>
        mode == SamplingMode.Sal ? p.SalTimesteps().Count - 1 : p.InferTimesteps().Count - 1;

    private static Tensor SliceStack(PreparedCase c, Device device, int slices)
    {
        var len = c.SliceLength;
        var data = c.Image.AsSpan(0, slices * len).ToArray();
        return Tensors.From(data, [slices, 1, c.Size, c.Size], device);
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length == 0 ? 0 : s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>A head-like disk with a bright lesion on every slice, already in the engine's input space.</summary>
    private static PreparedCase Phantom(string id, int size, int slices, ulong seed)
    {
        var rng = new Prng(seed);
        var image = new float[slices * size * size];
        var mask = new byte[image.Length];
        var c = (size - 1) / 2.0;
        for (var z = 0; z < slices; z++)
        {
            var (lx, ly, lr) = (c + rng.Uniform(-size * 0.15, size * 0.15), c + rng.Uniform(-size * 0.15, size * 0.15), size * rng.Uniform(0.05, 0.12));
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var i = (z * size * size) + (y * size) + x;
                    var r = Math.Sqrt(((x - c) * (x - c)) + ((y - c) * (y - c)));
                    if (r > size * 0.42) { image[i] = -1; continue; }
                    var lesion = Math.Sqrt(((x - lx) * (x - lx)) + ((y - ly) * (y - ly))) <= lr;
                    image[i] = (float)((lesion ? 0.7 : -0.3) + (0.05 * rng.Gaussian()));
                    mask[i] = lesion ? (byte)1 : (byte)0;
                }
        }
        var geometry = new VolumeGeometry(new Dims(size, size, slices), Affine.Canonical(new Spacing(1, 1, 5)));
        return new PreparedCase(new CaseDescriptor(id, id, "bench", LesionType.Hemorrhage, HasReference: true), geometry, size, slices, image, mask);
    }
}
