namespace Sdpm.Data.Entities;

/// <summary>One upload into a cohort (a file, a zip or a staged folder) and what became of each case in it.</summary>
public class ImportBatch
{
    public int Id { get; set; }
    public int CohortId { get; set; }
    public Cohort? Cohort { get; set; }
    public string? UserId { get; set; }
    public string UserName { get; set; } = "";

    /// <summary>What was uploaded ("cases.zip"), or a neutral label when the name itself looked identifying.</summary>
    public string UploadName { get; set; } = "";
    public long Bytes { get; set; }

    /// <summary>The coordinator chose "import without the identifying attributes" for this batch.</summary>
    public bool AcceptDeidentification { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>The portal stopped while this batch was importing (marked at the next start); its imported cases are complete.</summary>
    public bool Interrupted { get; set; }
    public int ImportedCount { get; set; }
    public int RefusedCount { get; set; }
    public List<ImportResult> Results { get; set; } = [];
}

public enum ImportStatus
{
    Imported = 1,
    Refused = 2,
}

/// <summary>The outcome for one case of an upload.</summary>
public class ImportResult
{
    public long Id { get; set; }
    public int BatchId { get; set; }
    public ImportBatch? Batch { get; set; }

    /// <summary>Order within the batch.</summary>
    public int Ordinal { get; set; }

    /// <summary>The case's name in the upload (file or folder), or a neutral label when it looked identifying.</summary>
    public string Name { get; set; } = "";
    public ImportStatus Status { get; set; }
    public int? CaseId { get; set; }

    /// <summary>Why the case was refused (or what to know about an imported one), for people.</summary>
    public string? Reason { get; set; }

    /// <summary>Refused because identifying attributes were found: importing again with the gate's second step helps.</summary>
    public bool IdentifyingDataFound { get; set; }

    /// <summary>JSON array of {"tag","name"}: where identifying attributes were found, never their values.</summary>
    public string? FindingsJson { get; set; }
}
