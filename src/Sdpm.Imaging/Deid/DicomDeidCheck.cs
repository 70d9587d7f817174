using System.Text;
using Sdpm.Imaging.Dicom;

namespace Sdpm.Imaging.Deid;

/// <summary>Checks DICOM attributes against the person- and institution-identifying part of the
/// PS3.15 Basic Application Level Confidentiality Profile (<see cref="DicomDeidProfile"/>). It reports; it never rewrites.</summary>
/// <remarks>Sequences are walked to any depth, so an identifier inside a sequence (for example the original
/// PatientName kept in OriginalAttributesSequence) is reported with its path, such as
/// <c>(0400,0561)[0]/(0400,0550)[0]/(0010,0010)</c>. Private attributes (odd groups) are reported as one finding
/// per file, since the profile removes them and vendors keep names and IDs there.</remarks>
public static class DicomDeidCheck
{
    private const int MaxDepth = 16;

    private static readonly Dictionary<uint, (string Keyword, DeidKind Kind)> Profile =
        DicomDeidProfile.Rows.ToDictionary(r => (uint)r.Group << 16 | r.Element, r => (r.Keyword, r.Kind));

    private static readonly DicomTag DeidentificationMethod = new(0x0012, 0x0063);
    private static readonly DicomTag DeidentificationMethodCodeSequence = new(0x0012, 0x0064);

    /// <summary>The keywords the check looks at (for documentation and tests).</summary>
    public static IReadOnlyList<string> CheckedKeywords { get; } = DicomDeidProfile.Rows.Select(p => p.Keyword).ToArray();

    /// <summary>The (group, element) of a checked keyword.</summary>
    public static DicomTag TagOf(string keyword)
    {
        var row = DicomDeidProfile.Rows.First(r => r.Keyword == keyword);
        return new DicomTag(row.Group, row.Element);
    }

    /// <summary>Findings for one file: every checked attribute that holds a value, at any depth, plus one finding
    /// when private attributes are present. Full dates are skipped when the file declares the "Retain Longitudinal
    /// Temporal Information with Modified Dates" option (code 113107) or a date shift in DeidentificationMethod;
    /// the birth date is always reported.</summary>
    public static IReadOnlyList<DeidFinding> Check(DicomDataset dataset)
    {
        var walk = new Walk(dataset, DatesShifted(dataset));
        walk.Elements(dataset.Elements.OrderBy(e => e.Tag.Value), "", 0);
        if (walk.PrivateGroups.Count > 0)
        {
            var groups = string.Join(", ", walk.PrivateGroups.Order().Select(g => g.ToString("X4")));
            walk.Findings.Add(new("private", "PrivateAttributes",
                $"{walk.PrivateCount} private attribute(s) present in group(s) {groups} (values redacted); the Basic Profile removes private data, which often holds names and IDs"));
        }
        return walk.Findings;
    }

    /// <summary>Merges per-file findings of a series into one finding per attribute, with file counts.</summary>
    public static IReadOnlyList<DeidFinding> Merge(IReadOnlyList<IReadOnlyList<DeidFinding>> perFile)
    {
        var total = perFile.Count;
        return perFile.SelectMany(f => f)
            .GroupBy(f => (f.Tag, f.Name))
            .OrderBy(g => g.Key.Tag, StringComparer.Ordinal)
            .Select(g => new DeidFinding(g.Key.Tag, g.Key.Name,
                total == 1 ? g.First().Detail : $"{g.First().Detail}; in {g.Count()} of {total} files"))
            .ToList();
    }

    private sealed class Walk(DicomDataset dataset, bool datesShifted)
    {
        public List<DeidFinding> Findings { get; } = [];
        public HashSet<ushort> PrivateGroups { get; } = [];
        public int PrivateCount { get; private set; }

        public void Elements(IEnumerable<DicomElement> elements, string path, int depth)
        {
            foreach (var element in elements)
            {
                if (element.Tag.Group == 0xFFFE || element.Tag == DicomTag.PixelData) continue;
                var where = path + element.Tag;
                if (element.Tag.IsPrivate)
                {
                    if (element.Length > 0)
                    {
                        PrivateGroups.Add(element.Tag.Group);
                        PrivateCount++;
                    }
                    continue; // the private finding covers its content
                }
                var inside = path.Length > 0 ? " inside a sequence" : "";
                string? keyword = Profile.TryGetValue(element.Tag.Value, out var row) ? row.Keyword : null;
                if (element.IsSequence)
                {
                    IReadOnlyList<IReadOnlyList<DicomElement>> items;
                    try
                    {
                        items = DicomParser.ReadItems(dataset, element);
                    }
                    catch (ImagingException)
                    {
                        Findings.Add(new(where, keyword ?? "UnreadableSequence",
                            $"sequence{inside} could not be read, so it may hold identifying data (redacted)"));
                        continue;
                    }
                    if (keyword is not null && items.Any(i => i.Count > 0))
                        Findings.Add(new(where, keyword, $"sequence{inside} with content (redacted)"));
                    if (depth >= MaxDepth)
                    {
                        if (items.Count > 0)
                            Findings.Add(new(where, keyword ?? "DeepSequence", $"sequences nest deeper than {MaxDepth} levels; not inspected further (redacted)"));
                        continue;
                    }
                    for (var i = 0; i < items.Count; i++) Elements(items[i], $"{where}[{i}]/", depth + 1);
                    continue;
                }
                if (keyword is null || element.Length == 0) continue;
                var value = dataset.GetString(element);
                if (string.IsNullOrWhiteSpace(value)) continue;
                switch (row.Kind)
                {
                    case DeidKind.Date when datesShifted:
                        continue;
                    case DeidKind.Date:
                        Findings.Add(new(where, keyword, $"full date present{inside} (redacted, {value.Length} characters); dates must be removed or shifted"));
                        break;
                    case DeidKind.Flag when !value.Equals("YES", StringComparison.OrdinalIgnoreCase):
                        continue;
                    case DeidKind.Flag:
                        Findings.Add(new(where, keyword, "YES: the pixels contain burned-in text that may identify the patient"));
                        break;
                    case DeidKind.FreeText:
                        var kinds = IdentifyingText.Find(value);
                        if (kinds.Count > 0)
                            Findings.Add(new(where, keyword, $"text{inside} that looks like a {string.Join(", ", kinds)} (redacted, {value.Length} characters)"));
                        break;
                    default:
                        Findings.Add(new(where, keyword, $"holds a value{inside} (redacted, {value.Length} characters)"));
                        break;
                }
            }
        }
    }

    private static bool DatesShifted(DicomDataset ds)
    {
        var method = ds.GetString(DeidentificationMethod) ?? "";
        if (method.Contains("shift", StringComparison.OrdinalIgnoreCase) || method.Contains("modified date", StringComparison.OrdinalIgnoreCase))
            return true;
        var codes = ds.Get(DeidentificationMethodCodeSequence);
        return codes is not null && Encoding.Latin1.GetString(codes.Value.Span).Contains("113107", StringComparison.Ordinal);
    }
}
