using System.Globalization;
using System.Text;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Synthetic;

/// <summary>One row of a cohort manifest: a case, its site, lesion type, lesion volume and files (relative paths).</summary>
public sealed record ManifestEntry(string CaseId, string Site, LesionType Lesion, double LesionMl, string Image, string Mask,
    Dims Dims, Spacing Spacing, double NoiseSigma, double HuOffset);

/// <summary>Reads and writes the manifest.csv of a synthetic cohort.</summary>
/// <remarks>Columns: case_id, site, lesion_type (none / infarct / hemorrhage), lesion_ml, image, mask, size_x, size_y,
/// size_z, spacing_x, spacing_y, spacing_z, noise_sigma, hu_offset. Invariant culture, comma-separated, one header row.</remarks>
public static class CohortManifest
{
    public const string FileName = "manifest.csv";

    private const string Header = "case_id,site,lesion_type,lesion_ml,image,mask,size_x,size_y,size_z,spacing_x,spacing_y,spacing_z,noise_sigma,hu_offset";

    public static void Write(string path, IEnumerable<ManifestEntry> entries)
    {
        var sb = new StringBuilder().Append(Header).Append('\n');
        foreach (var e in entries)
            sb.Append(string.Join(',', e.CaseId, e.Site, Name(e.Lesion), F(e.LesionMl), e.Image, e.Mask,
                I(e.Dims.X), I(e.Dims.Y), I(e.Dims.Z), F(e.Spacing.X), F(e.Spacing.Y), F(e.Spacing.Z), F(e.NoiseSigma), F(e.HuOffset))).Append('\n');
        IO.Bytes.WriteAtomically(path, s => s.Write(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Reads a manifest file (or the manifest.csv of a cohort folder).</summary>
    public static IReadOnlyList<ManifestEntry> Read(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim() != Header)
            throw new ImagingException(ImagingError.UnknownFormat, $"{Path.GetFileName(path)}: not a cohort manifest (unexpected header).");
        var list = new List<ManifestEntry>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var c = line.Split(',');
            if (c.Length != 14) throw new ImagingException(ImagingError.Inconsistent, $"{Path.GetFileName(path)}: bad row '{line}'.");
            list.Add(new ManifestEntry(c[0], c[1], Parse(c[2]), D(c[3]), c[4], c[5],
                new Dims(int.Parse(c[6], CultureInfo.InvariantCulture), int.Parse(c[7], CultureInfo.InvariantCulture), int.Parse(c[8], CultureInfo.InvariantCulture)),
                new Spacing(D(c[9]), D(c[10]), D(c[11])), D(c[12]), D(c[13])));
        }
        return list;
    }

    /// <summary>The manifest name of a lesion type.</summary>
    public static string Name(LesionType t) => t switch
    {
        LesionType.Infarct => "infarct",
        LesionType.Hemorrhage => "hemorrhage",
        _ => "none",
    };

    private static LesionType Parse(string s) => s switch
    {
        "infarct" => LesionType.Infarct,
        "hemorrhage" => LesionType.Hemorrhage,
        "none" => LesionType.None,
        _ => throw new ImagingException(ImagingError.Inconsistent, $"Unknown lesion type '{s}' in the manifest."),
    };

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    private static double D(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
}
