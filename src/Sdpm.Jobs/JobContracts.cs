using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sdpm.Jobs;

/// <summary>What a job asks for, as stored in <c>Job.RequestJson</c>: the engine's settings map (the keys of
/// <c>TrainingSetup.FromSettings</c> or <c>InferenceOptions.FromSettings</c>) and the cases it reads, resolved from its
/// split when it was submitted (a split is frozen once a job used it, so they cannot drift).</summary>
/// <param name="Settings">Engine settings by name (model, preset, recipe, steps, seed, device, ... or modes, protocol).</param>
/// <param name="CaseIds">The portal's case ids the engine reads (training: the split's train subset).</param>
/// <param name="Subset">The split subset the cases came from ("train", "validation", "test").</param>
/// <param name="Name">The name given to the model version a training job makes, or the job's own label.</param>
/// <param name="CohortId">An inference or evaluation job over a whole cohort rather than a split subset.</param>
public sealed record JobRequest(
    IReadOnlyDictionary<string, string> Settings,
    IReadOnlyList<int> CaseIds,
    string? Subset = null,
    string? Name = null,
    int? CohortId = null)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A stored request; one missing its settings or cases (written by hand, or by an older build) reads as
    /// empty ones, so that listing it never fails.</summary>
    public static JobRequest Parse(string json)
    {
        var request = JsonSerializer.Deserialize<JobRequest>(json, Json) ?? throw new InvalidDataException("The job's request is empty.");
        return request with { Settings = request.Settings ?? new Dictionary<string, string>(), CaseIds = request.CaseIds ?? [] };
    }
}

/// <summary>What the engine process leaves in its run folder when it succeeds (<see cref="FileName"/>), for the
/// supervising worker to store: a training job's checkpoint and resolved options; an inference or evaluation job's
/// summary (<see cref="JobOutcome"/> as JSON; its predictions are rows already, committed when the job succeeds).</summary>
public sealed record EngineResult(string Kind, string? Checkpoint, int Steps, string? Model, string? Preset, string? Recipe, string? OptionsJson,
    string? SummaryJson = null)
{
    public const string FileName = "result.json";

    public void Write(string runDir) => File.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(this, JobRequest.Json));

    public static EngineResult? Read(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<EngineResult>(File.ReadAllText(path), JobRequest.Json) : null;
    }
}
