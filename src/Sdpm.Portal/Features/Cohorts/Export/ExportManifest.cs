using System.Globalization;
using System.Text;

namespace Sdpm.Portal.Features.Cohorts.Export;

/// <summary>One case as the export's manifest.csv describes it. Dims, spacing and orientation are those of the exported
/// files (the case's source grid, or the stored grid for cases imported before the portal kept it).</summary>
/// <param name="Grid">"source" (the uploaded file's grid) or "stored" (the canonical grid of a case imported before the
/// source grid was kept).</param>
/// <param name="Orientation">The files' voxel-axis codes (nibabel's aff2axcodes), e.g. RAS.</param>
/// <param name="ReferenceSource">"imported" (with the scan) or "annotation" (an annotation accepted by a reviewer).</param>
/// <param name="ReferenceAnnotator">Whose annotation became the reference; empty for an imported one.</param>
/// <param name="ReferenceDecidedBy">Who imported the reference, or who accepted the annotation.</param>
/// <param name="ImageBlobSha256">The stored volume's blob name: the SHA-256 of the decoded int16 volume as the portal keeps
/// it (the same scan uploaded as NIfTI or DICOM has the same one), not of the exported file.</param>
/// <param name="Error">Why the case's files are missing or incomplete; empty when the export of the case succeeded.</param>
public sealed record ManifestRow(
    string PseudoId,
    string PatientId,
    string LesionType,
    int DimX, int DimY, int DimZ,
    double SpacingX, double SpacingY, double SpacingZ,
    string Orientation,
    string Grid,
    string SourceFormat,
    bool HasReference,
    double? ReferenceVolumeMl,
    string ReferenceSource,
    string ReferenceAnnotator,
    string ReferenceDecidedBy,
    string ImageFile,
    string ReferenceFile,
    string ImageBlobSha256,
    string Error);

/// <summary>manifest.csv of a cohort export: RFC 4180 (comma-separated, CRLF, fields quoted when they hold a comma, quote
/// or line break), UTF-8 without a byte-order mark, numbers with a point, booleans as true/false.</summary>
public static class ExportManifest
{
    public const string FileName = "manifest.csv";

    public static readonly string[] Columns =
    [
        "pseudo_id", "patient_id", "lesion_type", "dim_x", "dim_y", "dim_z", "spacing_x_mm", "spacing_y_mm", "spacing_z_mm", "orientation", "grid",
        "source_format", "has_reference", "reference_volume_ml", "reference_source", "reference_annotator", "reference_decided_by", "image_file",
        "reference_file", "image_blob_sha256", "error",
    ];

    public static string Write(IEnumerable<ManifestRow> rows)
    {
        var csv = new StringBuilder();
        Line(csv, Columns);
        foreach (var r in rows)
        {
            Line(csv,
            [
                r.PseudoId, r.PatientId, r.LesionType, N(r.DimX), N(r.DimY), N(r.DimZ), N(r.SpacingX), N(r.SpacingY), N(r.SpacingZ), r.Orientation, r.Grid,
                r.SourceFormat, r.HasReference ? "true" : "false", r.ReferenceVolumeMl is { } ml ? N(ml) : "", r.ReferenceSource, r.ReferenceAnnotator,
                r.ReferenceDecidedBy, r.ImageFile, r.ReferenceFile, r.ImageBlobSha256, r.Error,
            ]);
        }
        return csv.ToString();
    }

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string N(double value) => Math.Round(value, 6).ToString("0.######", CultureInfo.InvariantCulture);

    private static void Line(StringBuilder csv, IReadOnlyList<string> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) csv.Append(',');
            var f = fields[i];
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0) csv.Append('"').Append(f.Replace("\"", "\"\"")).Append('"');
            else csv.Append(f);
        }
        csv.Append("\r\n");
    }
}
