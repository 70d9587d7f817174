namespace Sdpm.Data.Entities;

/// <summary>The lesion of one case, as far as it is known.</summary>
public enum CaseLesionType
{
    Unspecified = 0,
    Infarct = 1,
    Haemorrhage = 2,
    /// <summary>Lesion-free: the reference is empty.</summary>
    None = 3,
}

/// <summary>One de-identified NCCT scan in a cohort, stored decoded in the blob store, with its optional imported reference.</summary>
public class Case
{
    public const int PseudoIdMaxLength = 32;
    public const int SourceGridMaxLength = 1024;

    public int Id { get; set; }
    public int CohortId { get; set; }
    public Cohort? Cohort { get; set; }

    /// <summary>The owning site (the cohort's), kept on the row so that access checks and duplicate checks need no join.</summary>
    public int SiteId { get; set; }

    /// <summary>Pseudonymous case id shown everywhere, e.g. NOR-0007.</summary>
    public string PseudoId { get; set; } = "";

    /// <summary>Pseudonymous patient id (e.g. NOR-P0007): splits are made per patient.</summary>
    public string PatientPseudoId { get; set; } = "";

    public CaseLesionType LesionType { get; set; }

    public int DimX { get; set; }
    public int DimY { get; set; }
    public int DimZ { get; set; }
    public double SpacingX { get; set; }
    public double SpacingY { get; set; }
    public double SpacingZ { get; set; }

    /// <summary>The grid of the uploaded file before it was reordered to the canonical orientation, as JSON
    /// <c>{"dims":[x,y,z],"affine":[12 values: the voxel-to-RAS transform's top three rows, row-major]}</c>. Downloads and
    /// exports write the image and its masks back on it, so they overlay the original file. Null for cases imported
    /// before it was kept: those are written on the stored (canonical) grid.</summary>
    public string? SourceGrid { get; set; }

    /// <summary>SHA-256 of the decoded int16 volume (VolumeStore layout): the blob name and the duplicate check.</summary>
    public string ImageBlob { get; set; } = "";

    /// <summary>The imported reference mask (gzipped run-length), if any.</summary>
    public string? ReferenceBlob { get; set; }
    public double? ReferenceVolumeMl { get; set; }

    /// <summary>PNG of the middle slice, brain window, for lists.</summary>
    public string? ThumbnailBlob { get; set; }

    /// <summary>"nifti-1", "dicom", "png-stack", ...</summary>
    public string SourceFormat { get; set; } = "";

    /// <summary>The name in the upload, kept only when the upload carried nothing identifying.</summary>
    public string? SourceName { get; set; }

    public int? ImportBatchId { get; set; }
    public ImportBatch? ImportBatch { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string CreatedByName { get; set; } = "";

    public bool HasReference => ReferenceBlob is not null;
}
