namespace Sdpm.Data.Entities;

/// <summary>
/// One inference mode's prediction of one case by one model version, made by an inference job: the mask, the
/// probability and uncertainty maps (blobs on the case's grid), the predicted volume with its spread over the repeats,
/// and its metrics against the case's reference at the time they were computed.
/// </summary>
/// <remarks>
/// An inference job writes its rows case by case while it runs, with <see cref="Committed"/> false: nothing reads them
/// but the blob sweeper (their blobs stay referenced) and the job itself when it resumes after its worker died. When the
/// job succeeds, one transaction commits them and removes the earlier committed predictions of the same model version,
/// case and mode; a failed or cancelled job's rows are deleted. So a page or an API answer only ever sees whole runs.
/// </remarks>
public class Prediction
{
    public const int ModeMaxLength = 16;

    public long Id { get; set; }
    public int JobId { get; set; }
    public int ModelVersionId { get; set; }
    public int CaseId { get; set; }

    /// <summary>"avg", "sal", "infer" or "all" (SDPM); a baseline's single mode is "avg".</summary>
    public string Mode { get; set; } = "";

    /// <summary>The sampling protocol's name ("fast", "paper").</summary>
    public string Protocol { get; set; } = "";

    /// <summary>Run-length mask blob on the case's grid.</summary>
    public string MaskBlob { get; set; } = "";

    /// <summary>Mean lesion probability over the repeats, as a uint8 volume blob: value / 255.</summary>
    public string ProbabilityBlob { get; set; } = "";

    /// <summary>Per-voxel SD of the probability over the repeats, as a uint8 volume blob: value / 510 (SD ≤ 0.5).</summary>
    public string UncertaintyBlob { get; set; } = "";

    public double VolumeMl { get; set; }

    /// <summary>SD of the lesion volume over the repeats (0 for deterministic modes).</summary>
    public double VolumeSdMl { get; set; }
    public long Passes { get; set; }
    public double Seconds { get; set; }

    /// <summary>The reference blob the metrics below were computed against (null: the case had no reference then).
    /// When the case's current reference differs, the metrics are stale.</summary>
    public string? MetricsReferenceBlob { get; set; }
    public double? Dice { get; set; }
    public double? VolumeRefMl { get; set; }

    public bool Committed { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Probability and SD maps are stored as bytes with these scales.</summary>
    public const double ProbabilityScale = 255, UncertaintyScale = 510;
}
