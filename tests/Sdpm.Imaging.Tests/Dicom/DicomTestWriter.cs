using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Sdpm.Imaging.Tests.Dicom;

/// <summary>What one synthetic CT slice file contains.</summary>
public sealed record CtSlice
{
    public string TransferSyntax { get; init; } = "1.2.840.10008.1.2.1";
    public string SeriesUid { get; init; } = "1.2.826.0.1.3680043.99.1";
    public string SopInstanceUid { get; init; } = "1.2.826.0.1.3680043.99.1.1";
    public double[] Position { get; init; } = [0, 0, 0];
    public double[] Orientation { get; init; } = [1, 0, 0, 0, 1, 0];
    public int Rows { get; init; } = 4;
    public int Columns { get; init; } = 5;
    public double[] PixelSpacing { get; init; } = [0.7, 0.6];
    public double SliceThickness { get; init; } = 9.9; // deliberately not the spacing
    public int InstanceNumber { get; init; } = 1;
    public double Slope { get; init; } = 1;
    public double Intercept { get; init; } = -1024;
    public int BitsStored { get; init; } = 16;
    public bool Signed { get; init; } = true;
    public short[]? Pixels { get; init; }
    public bool IncludePixels { get; init; } = true;
    public string SopClassUid { get; init; } = "1.2.840.10008.5.1.4.1.1.2";
    /// <summary>Extra attributes: (group, element) to (VR, value); US and SS values are written as binary numbers.</summary>
    public Dictionary<(ushort, ushort), (string Vr, string Value)> Extra { get; init; } = [];
    /// <summary>Encoded elements (for example sequences built with <see cref="DicomTestWriter.Sequence"/>) appended
    /// to the dataset as they are, in the file's transfer syntax.</summary>
    public List<byte[]> Raw { get; init; } = [];
}

/// <summary>Writes DICOM Part 10 CT slices in implicit, explicit or deflated explicit VR little endian (test helper).</summary>
public static class DicomTestWriter
{
    public const string Implicit = "1.2.840.10008.1.2";
    public const string Explicit = "1.2.840.10008.1.2.1";
    public const string Deflated = "1.2.840.10008.1.2.1.99";

    public static byte[] Write(CtSlice s)
    {
        var elements = new SortedDictionary<uint, (string Vr, byte[] Value)>();
        void Str(ushort g, ushort e, string vr, string v)
        {
            if (vr is "US" or "SS")
            {
                var b = new byte[2];
                BinaryPrimitives.WriteInt16LittleEndian(b, (short)int.Parse(v, CultureInfo.InvariantCulture));
                elements[(uint)g << 16 | e] = (vr, b);
            }
            else elements[(uint)g << 16 | e] = (vr, Pad(v, vr));
        }
        void Us(ushort g, ushort e, int v)
        {
            var b = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v);
            elements[(uint)g << 16 | e] = ("US", b);
        }
        string Ds(params double[] v) => string.Join('\\', v.Select(x => x.ToString("0.######", CultureInfo.InvariantCulture)));

        Str(0x0008, 0x0016, "UI", s.SopClassUid);
        Str(0x0008, 0x0018, "UI", s.SopInstanceUid);
        Str(0x0008, 0x0060, "CS", "CT");
        Str(0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.99");
        Str(0x0020, 0x000E, "UI", s.SeriesUid);
        Str(0x0020, 0x0013, "IS", s.InstanceNumber.ToString(CultureInfo.InvariantCulture));
        if (s.IncludePixels)
        {
            Str(0x0018, 0x0050, "DS", Ds(s.SliceThickness));
            Str(0x0020, 0x0032, "DS", Ds(s.Position));
            Str(0x0020, 0x0037, "DS", Ds(s.Orientation));
            Us(0x0028, 0x0002, 1);
            Str(0x0028, 0x0004, "CS", "MONOCHROME2");
            Us(0x0028, 0x0010, s.Rows);
            Us(0x0028, 0x0011, s.Columns);
            if (s.PixelSpacing.Length > 0) Str(0x0028, 0x0030, "DS", Ds(s.PixelSpacing));
            Us(0x0028, 0x0100, 16);
            Us(0x0028, 0x0101, s.BitsStored);
            Us(0x0028, 0x0102, s.BitsStored - 1);
            Us(0x0028, 0x0103, s.Signed ? 1 : 0);
            Str(0x0028, 0x1052, "DS", Ds(s.Intercept));
            Str(0x0028, 0x1053, "DS", Ds(s.Slope));
            var px = s.Pixels ?? new short[s.Rows * s.Columns];
            var bytes = new byte[px.Length * 2];
            for (var i = 0; i < px.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(2 * i), px[i]);
            elements[0x7FE00010] = ("OW", bytes);
        }
        foreach (var ((g, e), (vr, v)) in s.Extra) Str(g, e, vr, v);

        using var body = new MemoryStream();
        var explicitVr = s.TransferSyntax != Implicit;
        foreach (var (tag, (vr, value)) in elements)
        {
            if (tag == 0x7FE00010) foreach (var raw in s.Raw) body.Write(raw); // before the pixels, as a real file would
            WriteElement(body, tag, vr, value, explicitVr);
        }
        if (!s.IncludePixels) foreach (var raw in s.Raw) body.Write(raw);

        using var file = new MemoryStream();
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        using var meta = new MemoryStream();
        WriteElement(meta, 0x00020001, "OB", [0, 1], true);
        WriteElement(meta, 0x00020002, "UI", Pad(s.SopClassUid, "UI"), true);
        WriteElement(meta, 0x00020003, "UI", Pad(s.SopInstanceUid, "UI"), true);
        WriteElement(meta, 0x00020010, "UI", Pad(s.TransferSyntax, "UI"), true);
        WriteElement(meta, 0x00020012, "UI", Pad("1.2.826.0.1.3680043.99.9", "UI"), true);
        var groupLength = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(groupLength, (uint)meta.Length);
        WriteElement(file, 0x00020000, "UL", groupLength, true);
        meta.WriteTo(file);
        if (s.TransferSyntax == Deflated)
        {
            using var d = new DeflateStream(file, CompressionLevel.Optimal, leaveOpen: true);
            body.WriteTo(d);
        }
        else body.WriteTo(file);
        return file.ToArray();
    }

    /// <summary>Writes a series of slices into a folder as 0001.dcm, 0002.dcm, ...; returns the paths.</summary>
    public static IReadOnlyList<string> WriteSeries(string dir, IEnumerable<CtSlice> slices)
    {
        Directory.CreateDirectory(dir);
        var paths = new List<string>();
        var n = 0;
        foreach (var s in slices)
        {
            var p = Path.Combine(dir, $"{++n:D4}.dcm");
            File.WriteAllBytes(p, Write(s));
            paths.Add(p);
        }
        return paths;
    }

    /// <summary>An axial series: slice k at z = z0 + k * dz, pixel value (before rescale) = 1000 + 100k + 10r + c.</summary>
    public static IEnumerable<CtSlice> Axial(int count, double dz = 2.5, string ts = Explicit, double z0 = -30, Func<int, CtSlice, CtSlice>? tweak = null)
    {
        for (var k = 0; k < count; k++)
        {
            var px = new short[4 * 5];
            for (var r = 0; r < 4; r++)
                for (var c = 0; c < 5; c++) px[r * 5 + c] = (short)(1000 + 100 * k + 10 * r + c);
            var s = new CtSlice
            {
                TransferSyntax = ts,
                Position = [-10, -20, z0 + k * dz],
                Pixels = px,
                InstanceNumber = count - k, // numbering deliberately reversed: order must come from positions
                SopInstanceUid = $"1.2.826.0.1.3680043.99.1.{k + 1}",
            };
            yield return tweak is null ? s : tweak(k, s);
        }
    }

    /// <summary>One element: tag, VR (explicit syntaxes) and a defined-length value, which may be odd.</summary>
    public static byte[] Element(ushort g, ushort e, string vr, byte[] value, bool explicitVr)
    {
        using var ms = new MemoryStream();
        WriteElement(ms, (uint)g << 16 | e, vr, value, explicitVr);
        return ms.ToArray();
    }

    /// <summary>A text element (padded to even length unless <paramref name="odd"/>).</summary>
    public static byte[] Text(ushort g, ushort e, string vr, string value, bool explicitVr, bool odd = false) =>
        Element(g, e, vr, odd ? Encoding.ASCII.GetBytes(value) : Pad(value, vr), explicitVr);

    /// <summary>A sequence whose items hold the given encoded elements. Undefined lengths use delimiters.</summary>
    public static byte[] Sequence(ushort g, ushort e, bool explicitVr, bool undefinedLength, params byte[][][] items)
    {
        using var content = new MemoryStream();
        foreach (var item in items)
        {
            var body = item.SelectMany(x => x).ToArray();
            WriteTag(content, 0xFFFE, 0xE000, undefinedLength ? 0xFFFFFFFF : (uint)body.Length);
            content.Write(body);
            if (undefinedLength) WriteTag(content, 0xFFFE, 0xE00D, 0);
        }
        if (undefinedLength) WriteTag(content, 0xFFFE, 0xE0DD, 0);
        using var ms = new MemoryStream();
        WriteTag(ms, g, e, null);
        if (explicitVr) ms.Write("SQ\0\0"u8);
        var length = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, undefinedLength ? 0xFFFFFFFF : (uint)content.Length);
        ms.Write(length);
        content.WriteTo(ms);
        return ms.ToArray();
    }

    private static void WriteTag(Stream s, ushort g, ushort e, uint? length)
    {
        Span<byte> h = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(h, g);
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], e);
        if (length is { } l)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], l);
            s.Write(h);
        }
        else s.Write(h[..4]);
    }

    private static byte[] Pad(string v, string vr)
    {
        var b = Encoding.ASCII.GetBytes(v);
        if (b.Length % 2 == 0) return b;
        var p = new byte[b.Length + 1];
        b.CopyTo(p, 0);
        p[^1] = vr == "UI" ? (byte)0 : (byte)' ';
        return p;
    }

    private static void WriteElement(Stream s, uint tag, string vr, byte[] value, bool explicitVr)
    {
        Span<byte> h = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)(tag >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], (ushort)tag);
        if (!explicitVr)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)value.Length);
            s.Write(h[..8]);
        }
        else if (vr is "OB" or "OW" or "SQ" or "UN" or "UT")
        {
            h[4] = (byte)vr[0];
            h[5] = (byte)vr[1];
            h[6] = h[7] = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)value.Length);
            s.Write(h);
        }
        else
        {
            h[4] = (byte)vr[0];
            h[5] = (byte)vr[1];
            BinaryPrimitives.WriteUInt16LittleEndian(h[6..], (ushort)value.Length);
            s.Write(h[..8]);
        }
        s.Write(value);
    }
}
