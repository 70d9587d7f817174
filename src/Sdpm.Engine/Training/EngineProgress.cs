namespace Sdpm.Engine.Training;

/// <summary>One progress event of a training or inference run, flat so that it serialises as one JSON line.</summary>
/// <param name="Kind">start, step, checkpoint, done (training); case, mode (inference); info.</param>
/// <param name="Terms">Loss terms of a training step (ld1, ld2, lp, dice, bce, total).</param>
public sealed record EngineProgress(
    string Kind,
    string Device,
    int Step = 0,
    int TotalSteps = 0,
    IReadOnlyDictionary<string, double>? Terms = null,
    double? LearningRate = null,
    double? SamplesPerSecond = null,
    double? EtaSeconds = null,
    string? CaseId = null,
    string? Mode = null,
    string? Message = null);
