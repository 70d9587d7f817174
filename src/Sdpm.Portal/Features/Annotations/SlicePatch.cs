using System.IO.Compression;
using Sdpm.Imaging;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Features.Annotations;

/// <summary>
/// The body of an autosave: the changed slices of a mask, gzipped. Layout (before gzip): ASCII "SRLP", version byte 1,
/// X, Y, Z, the slice count, then per slice its index z, its run count and its runs (as in <see cref="RunLengthMask"/>:
/// background first), all unsigned LEB128 varints.
/// </summary>
public static class SlicePatch
{
    public const long MaxBytes = 64L << 20;

    public static IReadOnlyDictionary<int, byte[]> Read(Stream gzipped, Dims grid)
    {
        byte[] data;
        try
        {
            using var gzip = new GZipStream(gzipped, CompressionMode.Decompress);
            using var ms = new MemoryStream();
            var buffer = new byte[1 << 16];
            int n;
            while ((n = gzip.Read(buffer)) > 0)
            {
                if (ms.Length + n > MaxBytes) throw new ImagingException(ImagingError.TooLarge, $"the patch inflates to more than {MaxBytes >> 20} MiB.");
                ms.Write(buffer, 0, n);
            }
            data = ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"the body is not gzip data ({e.Message}).");
        }
        if (data.Length < 5 || data[0] != 'S' || data[1] != 'R' || data[2] != 'L' || data[3] != 'P' || data[4] != 1)
        {
            throw new ImagingException(ImagingError.UnknownFormat, "the body is not a slice patch (SRLP, version 1).");
        }
        var pos = 5;
        var dims = new Dims((int)Varint(data, ref pos), (int)Varint(data, ref pos), (int)Varint(data, ref pos));
        if (dims != grid) throw new ImagingException(ImagingError.Inconsistent, $"the patch is for a {dims} grid, the case is {grid}.");
        var count = Varint(data, ref pos);
        if (count > (uint)grid.Z) throw new ImagingException(ImagingError.Inconsistent, $"the patch names {count} slices; the case has {grid.Z}.");
        var slices = new Dictionary<int, byte[]>();
        for (var i = 0; i < count; i++)
        {
            var z = (int)Varint(data, ref pos);
            var runCount = Varint(data, ref pos);
            if (z >= grid.Z || runCount > (uint)grid.SliceLength + 1) throw new ImagingException(ImagingError.Inconsistent, $"slice {z} of the patch is not on the case grid.");
            var runs = new int[runCount];
            for (var r = 0; r < runCount; r++) runs[r] = (int)Math.Min(Varint(data, ref pos), int.MaxValue);
            var slice = new byte[grid.SliceLength];
            RunLengthMask.DecodeSlice(runs, slice);
            slices[z] = slice;
        }
        if (pos != data.Length) throw new ImagingException(ImagingError.Inconsistent, "trailing bytes after the slice patch.");
        return slices;
    }

    /// <summary>Writes a patch (what the browser sends), for tests and scripts.</summary>
    public static byte[] Write(Dims grid, IReadOnlyDictionary<int, byte[]> slices)
    {
        using var raw = new MemoryStream();
        raw.Write("SRLP"u8);
        raw.WriteByte(1);
        foreach (var v in new[] { grid.X, grid.Y, grid.Z, slices.Count }) RunLengthMask.WriteVarint(raw, (uint)v);
        foreach (var (z, slice) in slices.OrderBy(kv => kv.Key))
        {
            var runs = RunLengthMask.EncodeSlice(slice);
            RunLengthMask.WriteVarint(raw, (uint)z);
            RunLengthMask.WriteVarint(raw, (uint)runs.Length);
            foreach (var r in runs) RunLengthMask.WriteVarint(raw, (uint)r);
        }
        using var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(gzip);
        }
        return gz.ToArray();
    }

    private static uint Varint(byte[] data, ref int pos) =>
        RunLengthMask.TryReadVarint(data, ref pos, out var v) ? v : throw new ImagingException(ImagingError.Truncated, "the slice patch is truncated or holds a bad number.");
}
