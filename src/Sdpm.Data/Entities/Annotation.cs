namespace Sdpm.Data.Entities;

/// <summary>Where an annotation stands: only its annotator moves it from draft to submitted; only a reviewer decides.</summary>
public enum AnnotationState
{
    Draft = 1,
    Submitted = 2,
    Rejected = 3,
    Accepted = 4,
}

/// <summary>A case given to an annotator of its site.</summary>
public class CaseAssignment
{
    public int Id { get; set; }
    public int CaseId { get; set; }
    public Case? Case { get; set; }
    public string AnnotatorId { get; set; } = "";
    public PortalUser? Annotator { get; set; }
    public string AssignedByName { get; set; } = "";
    public DateTimeOffset AssignedAt { get; set; }
}

/// <summary>One annotator's lesion mask of one case, versioned: every save is a new version, kept as a revision.</summary>
public class Annotation
{
    public const int CommentMaxLength = 2000;

    public int Id { get; set; }
    public int CaseId { get; set; }
    public Case? Case { get; set; }

    /// <summary>The case's site, kept on the row for access checks.</summary>
    public int SiteId { get; set; }
    public string AnnotatorId { get; set; } = "";
    public string AnnotatorName { get; set; } = "";
    public AnnotationState State { get; set; } = AnnotationState.Draft;

    /// <summary>Incremented on every save and decision: a write based on an older version is refused.</summary>
    public int Version { get; set; }

    /// <summary>The current mask (gzipped run-length blob); null until the first save.</summary>
    public string? MaskBlob { get; set; }
    public double VolumeMl { get; set; }

    public const int StartedFromMaxLength = 200;

    /// <summary>What the draft started from: "empty", "reference" (the case's reference when it began), or a model's
    /// prediction ("prediction: model version N (name), mode", and who prepared it when an investigator did).</summary>
    public string StartedFrom { get; set; } = "empty";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? SubmittedAt { get; set; }
    public string? ReviewedByName { get; set; }
    public DateTimeOffset? ReviewedAt { get; set; }
    public string? ReviewComment { get; set; }
    public List<AnnotationRevision> Revisions { get; set; } = [];
}

/// <summary>One saved version of an annotation's mask.</summary>
public class AnnotationRevision
{
    public long Id { get; set; }
    public int AnnotationId { get; set; }
    public Annotation? Annotation { get; set; }
    public int Version { get; set; }
    public string MaskBlob { get; set; } = "";
    public double VolumeMl { get; set; }
    public DateTimeOffset SavedAt { get; set; }
}

/// <summary>One reference mask a case had: imported with the scan, or accepted from an annotation. The newest is current.</summary>
public class ReferenceRevision
{
    public long Id { get; set; }
    public int CaseId { get; set; }
    public Case? Case { get; set; }
    public string MaskBlob { get; set; } = "";
    public double VolumeMl { get; set; }

    /// <summary>"imported" or "annotation".</summary>
    public string Source { get; set; } = "imported";
    public int? AnnotationId { get; set; }
    public string? AnnotatorName { get; set; }

    /// <summary>Who imported it, or who accepted the annotation.</summary>
    public string DecidedByName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
}
