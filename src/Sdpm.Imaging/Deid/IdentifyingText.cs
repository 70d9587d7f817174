using System.Text.RegularExpressions;

namespace Sdpm.Imaging.Deid;

/// <summary>Heuristics that flag free text which may identify a person: dates, person-name patterns,
/// long numbers that look like record or accession numbers, and identifying keywords.</summary>
public static partial class IdentifyingText
{
    /// <summary>The kinds of identifying text found (empty when the text looks clean).</summary>
    public static IReadOnlyList<string> Find(string? text)
    {
        var kinds = new List<string>();
        if (string.IsNullOrWhiteSpace(text)) return kinds;
        if (IsoDate().IsMatch(text) || DayMonthYear().IsMatch(text)) kinds.Add("date");
        if (DicomName().IsMatch(text) || CommaName().IsMatch(text) || Honorific().IsMatch(text)) kinds.Add("person name");
        if (Keywords().IsMatch(text)) kinds.Add("identifying keyword");
        if (LongNumber().Matches(text).Any(m => !IsoDate().IsMatch(m.Value))) kinds.Add("long number (possible patient or accession id)");
        if (Email().IsMatch(text)) kinds.Add("e-mail address");
        return kinds;
    }

    // 19xx/20xx followed by a valid month and day, with or without separators.
    [GeneratedRegex(@"(?<!\d)(19|20)\d{2}[-_./]?(0[1-9]|1[0-2])[-_./]?(0[1-9]|[12]\d|3[01])(?!\d)")]
    private static partial Regex IsoDate();

    [GeneratedRegex(@"(?<!\d)(0?[1-9]|[12]\d|3[01])[-./](0?[1-9]|1[0-2])[-./](19|20)\d{2}(?!\d)")]
    private static partial Regex DayMonthYear();

    // DICOM PN: Family^Given
    [GeneratedRegex(@"\p{L}{2,}\^\p{L}")]
    private static partial Regex DicomName();

    // "Doe, John" (capitalised words around a comma)
    [GeneratedRegex(@"\b\p{Lu}\p{Ll}+,\s*\p{Lu}\p{Ll}+\b")]
    private static partial Regex CommaName();

    [GeneratedRegex(@"\b(Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau)\.?\s+\p{Lu}\p{Ll}+", RegexOptions.None)]
    private static partial Regex Honorific();

    // Not \b: "_" is a word character, and file names join words with it (patient_0042, mrn_12345).
    [GeneratedRegex(@"(?<![\p{L}\d])(patient|name|dob|birth|born|mrn|ssn|address|phone|accession|geb)(?!\p{L})", RegexOptions.IgnoreCase)]
    private static partial Regex Keywords();

    [GeneratedRegex(@"(?<!\d)\d{8,}(?!\d)")]
    private static partial Regex LongNumber();

    [GeneratedRegex(@"[\w.+-]+@[\w-]+\.[\w.]+")]
    private static partial Regex Email();
}
