using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.IO;

namespace Sdpm.Imaging.Dicom;

/// <summary>Parses DICOM Part 10 files (and bare implicit-VR datasets) into their top-level attributes.</summary>
/// <remarks>Sequences are kept as raw bytes and walked on demand with <see cref="ReadItems"/>; pixel data is located,
/// not decoded. Any transfer syntax is parsed as far as the attributes go (compressed pixel data stays encapsulated).</remarks>
public static class DicomParser
{
    private const uint UndefinedLength = 0xFFFFFFFF;

    /// <summary>True when the bytes look like DICOM (a "DICM" preamble, or a bare dataset starting with group 0002/0008).</summary>
    public static bool LooksLikeDicom(ReadOnlySpan<byte> head) =>
        (head.Length >= 132 && head.Slice(128, 4).SequenceEqual("DICM"u8)) || LooksLikeBareDataset(head);

    /// <summary>Most bytes one deflated DICOM file may inflate to (a CT slice with its headers is far smaller).</summary>
    public const long MaxInflatedBytesPerFile = 256L << 20;

    /// <summary>Parses one file; throws <see cref="ImagingException"/> when it is not DICOM or is truncated.</summary>
    /// <param name="maxInflatedBytes">Most bytes a deflated dataset may inflate to (defaults to
    /// <see cref="MaxInflatedBytesPerFile"/>, capped by <see cref="ImportLimits.MaxBytes"/>); series readers pass
    /// what is left of their budget.</param>
    public static DicomDataset Parse(byte[] bytes, string name, ImportLimits? limits = null, long? maxInflatedBytes = null)
    {
        limits ??= ImportLimits.Default;
        int pos;
        if (bytes.Length >= 132 && bytes.AsSpan(128, 4).SequenceEqual("DICM"u8)) pos = 132;
        else if (LooksLikeBareDataset(bytes)) pos = 0;
        else throw new ImagingException(ImagingError.UnknownFormat, $"{name}: not a DICOM file (no DICM marker).");

        try
        {
            var meta = new List<DicomElement>();
            while (pos + 8 <= bytes.Length && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(pos)) == 0x0002)
                meta.Add(ReadElement(bytes, ref pos, bytes.Length, explicitVr: true, bigEndian: false, name));
            var tsElement = meta.FirstOrDefault(e => e.Tag == DicomTag.TransferSyntaxUid);
            var ts = tsElement is null
                ? GuessBareSyntax(bytes, pos)
                : Encoding.ASCII.GetString(tsElement.Value.Span).TrimEnd('\0', ' ');

            var body = bytes;
            if (ts == TransferSyntax.DeflatedExplicitVrLittleEndian)
            {
                using var input = new MemoryStream(bytes, pos, bytes.Length - pos);
                using var deflate = new DeflateStream(input, CompressionMode.Decompress);
                var budget = Math.Min(maxInflatedBytes ?? MaxInflatedBytesPerFile, Math.Min(limits.MaxBytes, MaxInflatedBytesPerFile));
                body = Bytes.ReadAll(deflate, Math.Max(0, budget), name, sizeHint: 4L * (bytes.Length - pos));
                pos = 0;
            }
            var bigEndian = ts == TransferSyntax.ExplicitVrBigEndian;
            var explicitVr = ts != TransferSyntax.ImplicitVrLittleEndian;
            var ds = new DicomDataset(name, ts, bigEndian) { InflatedBytes = ReferenceEquals(body, bytes) ? 0 : body.Length };
            foreach (var m in meta) ds.Add(m);
            while (pos < body.Length)
            {
                if (body.Length - pos < 8)
                {
                    if (body.AsSpan(pos).IndexOfAnyExcept((byte)0) < 0) break; // zero padding at the end
                    throw new ImagingException(ImagingError.Truncated, $"{name}: the DICOM file is truncated.");
                }
                ds.Add(ReadElement(body, ref pos, body.Length, explicitVr, bigEndian, name));
            }
            return ds;
        }
        catch (InvalidDataException)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{name}: the deflated DICOM data is corrupt.");
        }
    }

    /// <summary>The items of a sequence, each as its list of attributes (nested sequences again raw, to walk in turn).</summary>
    /// <remarks>Items of defined and undefined length are both read; an undefined-length UN element holds
    /// implicit-VR content. Throws <see cref="ImagingException"/> when the sequence is malformed.</remarks>
    public static IReadOnlyList<IReadOnlyList<DicomElement>> ReadItems(DicomDataset dataset, DicomElement sequence)
    {
        if (!sequence.IsSequence) return [];
        if (!MemoryMarshal.TryGetArray(sequence.Value, out var segment) || segment.Array is null)
            throw new InvalidOperationException("Sequence values are slices of the parsed file.");
        var b = segment.Array;
        var pos = segment.Offset;
        var end = segment.Offset + segment.Count;
        var name = dataset.Name;
        var bigEndian = dataset.BigEndian;
        // Content is explicit VR only when the file is and the sequence itself was read with an explicit SQ VR.
        var explicitVr = dataset.TransferSyntaxUid != TransferSyntax.ImplicitVrLittleEndian && sequence.Vr is not null && sequence.Vr != "UN";
        var items = new List<IReadOnlyList<DicomElement>>();
        while (end - pos >= 8)
        {
            var tag = ReadTag(b, ref pos, end, bigEndian, name);
            var length = U32(b, ref pos, end, bigEndian, name);
            if (tag is { Group: 0xFFFE, Element: 0xE0DD }) break; // sequence delimiter
            if (tag is not { Group: 0xFFFE, Element: 0xE000 })
                throw new ImagingException(ImagingError.Inconsistent, $"{name}: malformed DICOM sequence {sequence.Tag} (found {tag} where an item was expected).");
            var elements = new List<DicomElement>();
            if (length != UndefinedLength)
            {
                if (length > (uint)(end - pos)) throw new ImagingException(ImagingError.Truncated, $"{name}: the DICOM file is truncated inside {sequence.Tag}.");
                var itemEnd = pos + (int)length;
                while (itemEnd - pos >= 8) elements.Add(ReadElement(b, ref pos, itemEnd, explicitVr, bigEndian, name));
                pos = itemEnd;
            }
            else
            {
                while (true)
                {
                    if (end - pos < 8) throw new ImagingException(ImagingError.Truncated, $"{name}: the DICOM file is truncated inside {sequence.Tag}.");
                    if (U16(b, pos, bigEndian) == 0xFFFE && U16(b, pos + 2, bigEndian) == 0xE00D)
                    {
                        pos += 8; // item delimiter
                        break;
                    }
                    elements.Add(ReadElement(b, ref pos, end, explicitVr, bigEndian, name));
                }
            }
            items.Add(elements);
        }
        return items;
    }

    private static bool LooksLikeBareDataset(ReadOnlySpan<byte> b)
    {
        if (b.Length < 8) return false;
        var group = BinaryPrimitives.ReadUInt16LittleEndian(b);
        var element = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        if (group == 0x0002) return b[4] is >= (byte)'A' and <= (byte)'Z' && b[5] is >= (byte)'A' and <= (byte)'Z';
        if (group != 0x0008 || element > 0x0020) return false;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        var explicitLooking = b[4] is >= (byte)'A' and <= (byte)'Z' && b[5] is >= (byte)'A' and <= (byte)'Z';
        return explicitLooking || length < 1024;
    }

    private static string GuessBareSyntax(byte[] b, int pos) =>
        pos + 6 <= b.Length && b[pos + 4] is >= (byte)'A' and <= (byte)'Z' && b[pos + 5] is >= (byte)'A' and <= (byte)'Z'
            ? TransferSyntax.ExplicitVrLittleEndian
            : TransferSyntax.ImplicitVrLittleEndian;

    private static DicomElement ReadElement(byte[] b, ref int pos, int end, bool explicitVr, bool bigEndian, string name)
    {
        var start = pos;
        var tag = ReadTag(b, ref pos, end, bigEndian, name);
        string? vr = null;
        uint length;
        if (tag.Group == 0xFFFE)
        {
            length = U32(b, ref pos, end, bigEndian, name);
        }
        else if (explicitVr)
        {
            Need(b, pos, 2, end, name);
            vr = Encoding.ASCII.GetString(b, pos, 2);
            pos += 2;
            if (vr is "OB" or "OW" or "OF" or "SQ" or "UT" or "UN" or "OD" or "OL" or "OV" or "SV" or "UV" or "UC" or "UR")
            {
                pos += 2;
                length = U32(b, ref pos, end, bigEndian, name);
            }
            else
            {
                Need(b, pos, 2, end, name);
                length = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(pos)) : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos));
                pos += 2;
            }
        }
        else length = U32(b, ref pos, end, bigEndian, name);

        if (length == UndefinedLength)
        {
            var valueStart = pos;
            var isPixels = tag == DicomTag.PixelData;
            SkipUndefined(b, ref pos, end, explicitVr && vr != "UN", bigEndian, name, 0);
            return new DicomElement(tag, vr, b.AsMemory(valueStart, pos - valueStart), IsSequence: !isPixels, IsEncapsulated: isPixels);
        }
        if (length > (uint)(end - pos))
            throw new ImagingException(ImagingError.Truncated,
                $"{name}: the DICOM file is truncated (attribute {tag} at byte {start} needs {length} bytes, {end - pos} remain).");
        var value = b.AsMemory(pos, (int)length);
        pos += (int)length;
        // Implicit VR does not say which attributes are sequences; a value that starts with an item tag is one.
        var isSequence = vr == "SQ" || (vr is null && tag.Group != 0xFFFE && LooksLikeItems(value.Span, bigEndian));
        return new DicomElement(tag, vr, value, IsSequence: isSequence, IsEncapsulated: false);
    }

    private static bool LooksLikeItems(ReadOnlySpan<byte> v, bool bigEndian)
    {
        if (v.Length < 8) return false;
        var group = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(v) : BinaryPrimitives.ReadUInt16LittleEndian(v);
        var element = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(v[2..]) : BinaryPrimitives.ReadUInt16LittleEndian(v[2..]);
        if (group != 0xFFFE || element != 0xE000) return false;
        var length = bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(v[4..]) : BinaryPrimitives.ReadUInt32LittleEndian(v[4..]);
        return length == UndefinedLength || length <= (uint)(v.Length - 8);
    }

    // Skips items until the sequence delimiter; items of undefined length are walked element by element.
    private static void SkipUndefined(byte[] b, ref int pos, int end, bool explicitVr, bool bigEndian, string name, int depth)
    {
        if (depth > 32) throw new ImagingException(ImagingError.Inconsistent, $"{name}: DICOM sequences nest too deeply.");
        while (true)
        {
            var tag = ReadTag(b, ref pos, end, bigEndian, name);
            var length = U32(b, ref pos, end, bigEndian, name);
            if (tag is { Group: 0xFFFE, Element: 0xE0DD }) return; // sequence delimiter
            if (tag is not { Group: 0xFFFE, Element: 0xE000 })
                throw new ImagingException(ImagingError.Inconsistent, $"{name}: malformed DICOM sequence (found {tag} where an item was expected).");
            if (length != UndefinedLength)
            {
                if (length > (uint)(end - pos)) throw new ImagingException(ImagingError.Truncated, $"{name}: the DICOM file is truncated inside a sequence.");
                pos += (int)length;
                continue;
            }
            while (true)
            {
                if (end - pos >= 8 && U16(b, pos, bigEndian) == 0xFFFE && U16(b, pos + 2, bigEndian) == 0xE00D)
                {
                    pos += 8; // item delimiter
                    break;
                }
                SkipNestedElement(b, ref pos, end, explicitVr, bigEndian, name, depth);
            }
        }
    }

    private static void SkipNestedElement(byte[] b, ref int pos, int end, bool explicitVr, bool bigEndian, string name, int depth)
    {
        var tag = ReadTag(b, ref pos, end, bigEndian, name);
        string? vr = null;
        uint length;
        if (explicitVr)
        {
            Need(b, pos, 2, end, name);
            vr = Encoding.ASCII.GetString(b, pos, 2);
            pos += 2;
            if (vr is "OB" or "OW" or "OF" or "SQ" or "UT" or "UN" or "OD" or "OL" or "OV" or "SV" or "UV" or "UC" or "UR")
            {
                pos += 2;
                length = U32(b, ref pos, end, bigEndian, name);
            }
            else
            {
                Need(b, pos, 2, end, name);
                length = U16(b, pos, bigEndian);
                pos += 2;
            }
        }
        else length = U32(b, ref pos, end, bigEndian, name);
        if (length == UndefinedLength)
        {
            SkipUndefined(b, ref pos, end, explicitVr && vr != "UN", bigEndian, name, depth + 1);
            return;
        }
        if (length > (uint)(end - pos)) throw new ImagingException(ImagingError.Truncated, $"{name}: the DICOM file is truncated inside {tag}.");
        pos += (int)length;
    }

    private static DicomTag ReadTag(byte[] b, ref int pos, int end, bool bigEndian, string name)
    {
        Need(b, pos, 4, end, name);
        var tag = new DicomTag(U16(b, pos, bigEndian), U16(b, pos + 2, bigEndian));
        pos += 4;
        return tag;
    }

    private static ushort U16(byte[] b, int pos, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(pos)) : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos));

    private static uint U32(byte[] b, ref int pos, int end, bool bigEndian, string name)
    {
        Need(b, pos, 4, end, name);
        var v = bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(pos)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos));
        pos += 4;
        return v;
    }

    private static void Need(byte[] b, int pos, int n, int end, string name)
    {
        if (pos + n > end) throw new ImagingException(ImagingError.Truncated, $"{name}: the DICOM file is truncated.");
    }
}
