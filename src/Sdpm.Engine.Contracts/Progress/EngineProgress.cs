using Sdpm.Engine.Contracts.Sampling;

namespace Sdpm.Engine.Contracts.Progress;

/// <summary>What a progress event reports.</summary>
public enum ProgressKind
{
    /// <summary>A run starts (training: parameters and slices; inference: protocol, modes, passes per slice).</summary>
    Start,

    /// <summary>A training step: loss terms, learning rate, throughput, time left.</summary>
    Step,

    /// <summary>A checkpoint was written (<see cref="EngineProgress.Message"/> is its path).</summary>
    Checkpoint,

    /// <summary>The run finished.</summary>
    Done,

    /// <summary>An inference case is done (Step of TotalSteps cases).</summary>
    Case,

    /// <summary>One mode of an inference case is done (volume and passes in the message).</summary>
    Mode,

    /// <summary>Anything else worth a line (data preparation, benchmark figures).</summary>
    Info,
}

/// <summary>One progress event of a training or inference run, flat so that it serialises as one JSON line
/// (<see cref="EngineProgressJson"/>: what <c>sdpm train|infer --progress jsonl</c> prints and a parent process reads).</summary>
/// <param name="Device">The device the run is on, e.g. "cpu (2 threads)" or "cuda:0".</param>
/// <param name="Terms">Loss terms of a training step (ld1, ld2, lp, dice, bce, total, grad_norm).</param>
public sealed record EngineProgress(
    ProgressKind Kind,
    string Device,
    int Step = 0,
    int TotalSteps = 0,
    IReadOnlyDictionary<string, double>? Terms = null,
    double? LearningRate = null,
    double? SamplesPerSecond = null,
    double? EtaSeconds = null,
    string? CaseId = null,
    SamplingMode? Mode = null,
    string? Message = null);
