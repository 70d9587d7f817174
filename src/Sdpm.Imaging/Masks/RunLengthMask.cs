using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Masks;

/// <summary>Compact run-length encoding of binary masks, per slice, for storage and for browser transfer.</summary>
/// <remarks>
/// <para><b>Runs of one slice</b>: alternating lengths of background and foreground pixels in row-major order,
/// always starting with background (so the first run may be 0). An empty slice is <c>[X*Y]</c>; the runs of a
/// slice always sum to X*Y. The text form is the same numbers separated by commas (what the canvas posts).</para>
/// <para><b>Binary form</b> of a volume: ASCII "SRLE", version byte 1, X, Y, Z as unsigned LEB128 varints, then
/// per slice the run count and the runs, all varints. A 512x512x40 mask with one lesion is a few hundred bytes.</para>
/// </remarks>
public static class RunLengthMask
{
    private static ReadOnlySpan<byte> Magic => "SRLE"u8;

    /// <summary>Runs of one slice (non-zero pixels are foreground).</summary>
    public static int[] EncodeSlice(ReadOnlySpan<byte> slice)
    {
        var runs = new List<int>();
        var current = false;
        var length = 0;
        foreach (var p in slice)
        {
            var on = p != 0;
            if (on == current) { length++; continue; }
            runs.Add(length);
            current = on;
            length = 1;
        }
        runs.Add(length);
        return runs.ToArray();
    }

    /// <summary>Writes the pixels of one slice (0 or 1) from its runs; the runs must sum to the slice length.</summary>
    public static void DecodeSlice(ReadOnlySpan<int> runs, Span<byte> slice)
    {
        var pos = 0;
        for (var r = 0; r < runs.Length; r++)
        {
            var n = runs[r];
            if (n < 0 || n > slice.Length - pos)
                throw new ImagingException(ImagingError.Inconsistent, $"Mask runs overflow the slice of {slice.Length} pixels.");
            slice.Slice(pos, n).Fill((byte)(r & 1));
            pos += n;
        }
        if (pos != slice.Length)
            throw new ImagingException(ImagingError.Inconsistent, $"Mask runs cover {pos} pixels, the slice has {slice.Length}.");
    }

    /// <summary>Runs of one slice as comma-separated text.</summary>
    public static string EncodeSliceText(ReadOnlySpan<byte> slice) => string.Join(',', EncodeSlice(slice));

    /// <summary>Decodes comma-separated runs (see <see cref="EncodeSliceText"/>).</summary>
    public static void DecodeSliceText(string text, Span<byte> slice)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var runs = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out runs[i]))
                throw new ImagingException(ImagingError.Inconsistent, $"Mask runs must be non-negative integers, got '{parts[i]}'.");
        DecodeSlice(runs, slice);
    }

    /// <summary>The binary form of a whole mask volume.</summary>
    public static byte[] Encode(Volume<byte> mask)
    {
        using var ms = new MemoryStream();
        ms.Write(Magic);
        ms.WriteByte(1);
        WriteVarint(ms, (uint)mask.Dims.X);
        WriteVarint(ms, (uint)mask.Dims.Y);
        WriteVarint(ms, (uint)mask.Dims.Z);
        for (var z = 0; z < mask.Dims.Z; z++)
        {
            var runs = EncodeSlice(mask.Slice(z));
            WriteVarint(ms, (uint)runs.Length);
            foreach (var r in runs) WriteVarint(ms, (uint)r);
        }
        return ms.ToArray();
    }

    /// <summary>Decodes the binary form onto a grid; the dims stored in the data must match the grid.</summary>
    public static Volume<byte> Decode(ReadOnlySpan<byte> data, VolumeGeometry geometry)
    {
        if (data.Length < 5 || !data[..4].SequenceEqual(Magic) || data[4] != 1)
            throw new ImagingException(ImagingError.UnknownFormat, "Not a run-length mask (bad magic or version).");
        var pos = 5;
        var dims = new Dims((int)ReadVarint(data, ref pos), (int)ReadVarint(data, ref pos), (int)ReadVarint(data, ref pos));
        if (dims != geometry.Dims)
            throw new ImagingException(ImagingError.Inconsistent, $"The mask is {dims} but the volume is {geometry.Dims}.");
        var mask = new Volume<byte>(geometry);
        var runs = new List<int>();
        for (var z = 0; z < dims.Z; z++)
        {
            var count = ReadVarint(data, ref pos);
            if (count > (uint)dims.SliceLength + 1)
                throw new ImagingException(ImagingError.Inconsistent, $"Mask slice {z} announces {count} runs, more than its pixels.");
            runs.Clear();
            for (var r = 0; r < count; r++) runs.Add((int)Math.Min(ReadVarint(data, ref pos), int.MaxValue));
            DecodeSlice(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs), mask.Slice(z));
        }
        if (pos != data.Length) throw new ImagingException(ImagingError.Inconsistent, "Trailing bytes after the run-length mask.");
        return mask;
    }

    /// <summary>Writes an unsigned LEB128 varint (the numbers of the binary form; shared by other run-length formats).</summary>
    public static void WriteVarint(Stream s, uint v)
    {
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }

    /// <summary>Reads an unsigned LEB128 varint at <paramref name="pos"/>; false when the data ends or the number is too long.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> data, ref int pos, out uint value)
    {
        value = 0;
        for (var shift = 0; shift < 35 && pos < data.Length; shift += 7)
        {
            var b = data[pos++];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }

    private static uint ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        if (TryReadVarint(data, ref pos, out var v)) return v;
        throw pos >= data.Length
            ? new ImagingException(ImagingError.Truncated, "The run-length mask is truncated.")
            : new ImagingException(ImagingError.Inconsistent, "Bad number in the run-length mask.");
    }
}
