using System.Text;
using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Nifti;

namespace Sdpm.Imaging.Deid;

/// <summary>Checks the free-text places of a NIfTI file (descrip, aux_file, intent_name, header extensions and the
/// file name) for identifying text. It reports; it never rewrites.</summary>
public static class NiftiDeidCheck
{
    /// <summary>Findings for one NIfTI file.</summary>
    public static IReadOnlyList<DeidFinding> Check(NiftiHeader header, string fileName)
    {
        var findings = new List<DeidFinding>();
        AddText(findings, "descrip", header.Descrip);
        AddText(findings, "aux_file", header.AuxFile);
        AddText(findings, "intent_name", header.IntentName);
        AddText(findings, "filename", StripExtensions(Path.GetFileName(fileName)));
        for (var i = 0; i < header.Extensions.Count; i++)
        {
            var ext = header.Extensions[i];
            var where = $"extension[{i}]";
            if (ext.Code == 2 && TryParseDicom(ext.Data) is { } ds)
            {
                foreach (var f in DicomDeidCheck.Check(ds))
                    findings.Add(new(where, f.Name, $"DICOM attribute {f.Tag} in a dicom extension: {f.Detail}"));
                continue;
            }
            var text = Printable(ext.Data);
            foreach (var kind in IdentifyingText.Find(text))
                findings.Add(new(where, kind, $"{ext.CodeName} extension of {ext.Data.Length} bytes contains text that looks like a {kind} (redacted)"));
        }
        return findings;
    }

    private static void AddText(List<DeidFinding> findings, string field, string text)
    {
        foreach (var kind in IdentifyingText.Find(text))
            findings.Add(new(field, kind, $"{field} contains text that looks like a {kind} (redacted, {text.Length} characters)"));
    }

    private static string StripExtensions(string name)
    {
        foreach (var ext in new[] { ".nii.gz", ".nii", ".gz" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return name[..^ext.Length];
        return name;
    }

    private static DicomDataset? TryParseDicom(byte[] data)
    {
        try
        {
            var ds = DicomParser.Parse(data, "extension");
            return ds.Elements.Any() ? ds : null;
        }
        catch (ImagingException)
        {
            return null;
        }
    }

    private static string Printable(byte[] data)
    {
        var sb = new StringBuilder(data.Length);
        foreach (var b in data) sb.Append(b is >= 32 and < 127 ? (char)b : ' ');
        return sb.ToString();
    }
}
