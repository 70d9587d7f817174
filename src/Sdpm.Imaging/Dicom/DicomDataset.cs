using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Sdpm.Imaging.Dicom;

/// <summary>One attribute of a parsed DICOM file; the value is a slice of the file's bytes.</summary>
/// <param name="Vr">The value representation when the file states it (explicit VR), else null.</param>
/// <param name="Length">Value length in bytes (for sequences and encapsulated pixel data: the bytes they span).</param>
public sealed record DicomElement(DicomTag Tag, string? Vr, ReadOnlyMemory<byte> Value, bool IsSequence, bool IsEncapsulated)
{
    public int Length => Value.Length;
}

/// <summary>The top-level attributes of one DICOM file (sequences kept as raw bytes).</summary>
public sealed class DicomDataset
{
    private readonly Dictionary<uint, DicomElement> _elements = new();

    internal DicomDataset(string name, string transferSyntaxUid, bool bigEndian)
    {
        Name = name;
        TransferSyntaxUid = transferSyntaxUid;
        BigEndian = bigEndian;
    }

    /// <summary>File name (for messages).</summary>
    public string Name { get; }

    public string TransferSyntaxUid { get; }

    internal bool BigEndian { get; }

    /// <summary>Bytes the dataset inflated to (deflated transfer syntax), else 0; counted against import budgets.</summary>
    internal long InflatedBytes { get; init; }

    public IEnumerable<DicomElement> Elements => _elements.Values;

    internal void Add(DicomElement e) => _elements[e.Tag.Value] = e;

    public bool Contains(DicomTag tag) => _elements.ContainsKey(tag.Value);

    public DicomElement? Get(DicomTag tag) => _elements.GetValueOrDefault(tag.Value);

    private bool? _utf8;

    private bool Utf8 => _utf8 ??= GetRawString(DicomTag.SpecificCharacterSet)?.Contains("ISO_IR 192", StringComparison.Ordinal) == true;

    private string? GetRawString(DicomTag tag) =>
        _elements.TryGetValue(tag.Value, out var e) ? Encoding.Latin1.GetString(e.Value.Span) : null;

    /// <summary>A text value with trailing spaces and NULs removed (null when absent).</summary>
    public string? GetString(DicomTag tag)
    {
        if (!_elements.TryGetValue(tag.Value, out var e) || e.IsSequence) return null;
        return GetString(e);
    }

    /// <summary>The text of any attribute of this file (also one inside a sequence), in the file's character set.</summary>
    public string GetString(DicomElement e)
    {
        var text = (Utf8 ? Encoding.UTF8 : Encoding.Latin1).GetString(e.Value.Span);
        return text.TrimEnd(' ', '\0').TrimStart(' ');
    }

    /// <summary>A multi-valued decimal string (DS) or null when absent or not numeric.</summary>
    public double[]? GetDecimals(DicomTag tag)
    {
        var s = GetString(tag);
        if (string.IsNullOrWhiteSpace(s)) return null;
        var parts = s.Split('\\');
        var v = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !double.IsFinite(v[i]))
                return null;
        return v;
    }

    /// <summary>The first value of a DS attribute.</summary>
    public double? GetDecimal(DicomTag tag) => GetDecimals(tag) is { Length: > 0 } v ? v[0] : null;

    /// <summary>An integer string (IS) value.</summary>
    public int? GetIntString(DicomTag tag) =>
        int.TryParse(GetString(tag)?.Split('\\')[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>An unsigned short (US) value.</summary>
    public int? GetUInt16(DicomTag tag)
    {
        if (!_elements.TryGetValue(tag.Value, out var e) || e.Value.Length < 2) return null;
        return BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(e.Value.Span) : BinaryPrimitives.ReadUInt16LittleEndian(e.Value.Span);
    }
}
