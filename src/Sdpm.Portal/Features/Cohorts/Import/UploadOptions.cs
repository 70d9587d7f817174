using Sdpm.Imaging.Import;

namespace Sdpm.Portal.Features.Cohorts.Import;

/// <summary>Limits and places of uploads; bound from the "Uploads" section.</summary>
public sealed class UploadOptions
{
    public const string Section = "Uploads";

    /// <summary>Most bytes of one upload (a file, a zip, or all files of one upload session): 2 GiB by default.</summary>
    public long MaxBytes { get; set; } = 2L << 30;

    /// <summary>Most files in one upload session.</summary>
    public int MaxFiles { get; set; } = 20_000;

    /// <summary>How long staged files of an unfinished or partly refused upload are kept (for resuming, and for the
    /// de-identification gate's second step) before they are deleted.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Staging folder; relative paths are under the data folder.</summary>
    public string Folder { get; set; } = "uploads";

    /// <summary>Most bytes one case may inflate to when read (after gzip or zip).</summary>
    public long MaxCaseBytes { get; set; } = 2_000_000_000;

    /// <summary>Most bytes a zip may inflate to per byte of archive before it is refused as a zip bomb.</summary>
    public double MaxZipExpansionRatio { get; set; } = 200;

    public ImportLimits Limits => ImportLimits.Default with { MaxBytes = MaxCaseBytes, MaxExpansionRatio = MaxZipExpansionRatio };
}
