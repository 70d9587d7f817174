using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using Sdpm.Imaging.IO;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Nifti;

/// <summary>Options for writing NIfTI files.</summary>
/// <param name="Version">1 (348-byte header, the most widely read) or 2 (540-byte header, for dimensions past 32767;
/// ITK 5.2 and so 3D Slicer and ITK-SNAP built on it cannot open NIfTI-2, nibabel can).</param>
/// <param name="Description">Text for the <c>descrip</c> field (at most 79 ASCII characters; never put identifying text here).</param>
/// <param name="Compression">gzip level used when the path ends in .gz.</param>
public sealed record NiftiWriteOptions(int Version = 1, string Description = "Sdpm.Imaging", CompressionLevel Compression = CompressionLevel.Fastest)
{
    public static NiftiWriteOptions Default { get; } = new();
}

/// <summary>Writes volumes as single-file NIfTI-1 or NIfTI-2 (.nii, or .nii.gz when the path ends in .gz).</summary>
/// <remarks>The affine is always written as the sform (code 1, scanner anatomical). It is also written as the qform
/// (code 1) only when the qform can hold it, that is when its columns are orthogonal (<see cref="IsOrthogonal"/>).
/// A sheared affine gets qform_code 0, so no reader ever sees two different grids in one file: nibabel then uses
/// the sform, and ITK (3D Slicer, ITK-SNAP) refuses the file, since it cannot represent shear (ITK 5.2 has no
/// permissive mode); an orthogonal affine opens everywhere on the same grid (tests/Sdpm.Imaging.Tests/Itk).
/// Files are written through a temporary name and renamed, so a failure never leaves a partial file.</remarks>
public static class NiftiWriter
{
    /// <summary>Writes a volume; T must be byte, sbyte, short, ushort, int, float or double.</summary>
    public static void Write<T>(string path, Volume<T> volume, NiftiWriteOptions? options = null) where T : unmanaged
    {
        options ??= NiftiWriteOptions.Default;
        var gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        Validate(volume, options);
        Bytes.WriteAtomically(path, fs => WriteTo(fs, volume, options, gzip));
    }

    /// <summary>Writes a volume to a stream, gzip-compressed or not.</summary>
    public static void Write<T>(Stream stream, Volume<T> volume, bool gzip, NiftiWriteOptions? options = null) where T : unmanaged
    {
        options ??= NiftiWriteOptions.Default;
        Validate(volume, options);
        WriteTo(stream, volume, options, gzip);
    }

    private static void WriteTo<T>(Stream stream, Volume<T> volume, NiftiWriteOptions options, bool gzip) where T : unmanaged
    {
        var header = options.Version == 2 ? Header2(volume, options) : Header1(volume, options);
        if (gzip)
        {
            using var gz = new GZipStream(stream, options.Compression, leaveOpen: true);
            gz.Write(header);
            gz.Write(MemoryMarshal.AsBytes(volume.Voxels.AsSpan()));
        }
        else
        {
            stream.Write(header);
            stream.Write(MemoryMarshal.AsBytes(volume.Voxels.AsSpan()));
        }
    }

    private static void Validate<T>(Volume<T> volume, NiftiWriteOptions options) where T : unmanaged
    {
        if (options.Version is not (1 or 2)) throw new ArgumentException("NIfTI version must be 1 or 2.", nameof(options));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Writing NIfTI needs a little-endian machine.");
        _ = TypeOf<T>();
        if (options.Version == 1 && Math.Max(volume.Dims.X, Math.Max(volume.Dims.Y, volume.Dims.Z)) > short.MaxValue)
            throw new ImagingException(ImagingError.TooLarge, $"Dims {volume.Dims} do not fit a NIfTI-1 header; write NIfTI-2.");
        if (volume.Voxels is float[] f && Array.FindIndex(f, v => !float.IsFinite(v)) is var bf and >= 0)
            throw new ImagingException(ImagingError.InvalidValues, $"Voxel {bf} is NaN or infinite; refusing to write it.");
        if (volume.Voxels is double[] d && Array.FindIndex(d, v => !double.IsFinite(v)) is var bd and >= 0)
            throw new ImagingException(ImagingError.InvalidValues, $"Voxel {bd} is NaN or infinite; refusing to write it.");
    }

    /// <summary>Largest |cos| of the angle between two affine columns for which the affine still counts as orthogonal
    /// (float32 rounding of an orthogonal affine stays far below it).</summary>
    public const double ShearTolerance = 1e-4;

    /// <summary>True when the affine's columns are orthogonal within <see cref="ShearTolerance"/>, so a qform
    /// (rotation, voxel sizes, qfac) describes exactly the same grid as the sform.</summary>
    public static bool IsOrthogonal(Affine a)
    {
        var worst = 0.0;
        for (var i = 0; i < 3; i++)
            for (var j = i + 1; j < 3; j++)
            {
                double dot = 0, ni = 0, nj = 0;
                for (var r = 0; r < 3; r++)
                {
                    dot += a[r, i] * a[r, j];
                    ni += a[r, i] * a[r, i];
                    nj += a[r, j] * a[r, j];
                }
                if (ni == 0 || nj == 0) return false;
                worst = Math.Max(worst, Math.Abs(dot) / Math.Sqrt(ni * nj));
            }
        return worst <= ShearTolerance;
    }

    /// <summary>The NIfTI data type for a CLR voxel type.</summary>
    public static NiftiDataType TypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(byte) ? NiftiDataType.UInt8 :
        typeof(T) == typeof(sbyte) ? NiftiDataType.Int8 :
        typeof(T) == typeof(short) ? NiftiDataType.Int16 :
        typeof(T) == typeof(ushort) ? NiftiDataType.UInt16 :
        typeof(T) == typeof(int) ? NiftiDataType.Int32 :
        typeof(T) == typeof(float) ? NiftiDataType.Float32 :
        typeof(T) == typeof(double) ? NiftiDataType.Float64 :
        throw new ArgumentException($"Voxel type {typeof(T).Name} cannot be written as NIfTI.");

    private static byte[] Header1<T>(Volume<T> v, NiftiWriteOptions o) where T : unmanaged
    {
        var h = new byte[352];
        var s = h.AsSpan();
        var t = TypeOf<T>();
        var q = Quaternion(v.Affine);
        BinaryPrimitives.WriteInt32LittleEndian(s, 348);
        h[39] = 0; // dim_info
        short[] dim = [3, (short)v.Dims.X, (short)v.Dims.Y, (short)v.Dims.Z, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteInt16LittleEndian(s[(40 + 2 * i)..], dim[i]);
        BinaryPrimitives.WriteInt16LittleEndian(s[70..], (short)t);
        BinaryPrimitives.WriteInt16LittleEndian(s[72..], (short)(NiftiHeader.BytesOf(t) * 8));
        float[] pix = [(float)q.Qfac, (float)q.Dx, (float)q.Dy, (float)q.Dz, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(76 + 4 * i)..], pix[i]);
        BinaryPrimitives.WriteSingleLittleEndian(s[108..], 352f); // vox_offset
        BinaryPrimitives.WriteSingleLittleEndian(s[112..], 1f); // scl_slope
        BinaryPrimitives.WriteSingleLittleEndian(s[116..], 0f);
        h[123] = 2 | 8; // mm, seconds
        Ascii(o.Description, s.Slice(148, 80));
        BinaryPrimitives.WriteInt16LittleEndian(s[252..], (short)(IsOrthogonal(v.Affine) ? 1 : 0)); // qform_code: scanner anatomical
        BinaryPrimitives.WriteInt16LittleEndian(s[254..], 1); // sform_code
        double[] qv = [q.B, q.C, q.D, v.Affine[0, 3], v.Affine[1, 3], v.Affine[2, 3]];
        for (var i = 0; i < 6; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(256 + 4 * i)..], (float)qv[i]);
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++) BinaryPrimitives.WriteSingleLittleEndian(s[(280 + 16 * r + 4 * c)..], (float)v.Affine[r, c]);
        "n+1\0"u8.CopyTo(s[344..]);
        return h; // bytes 348..351: extension flag 0
    }

    private static byte[] Header2<T>(Volume<T> v, NiftiWriteOptions o) where T : unmanaged
    {
        var h = new byte[544];
        var s = h.AsSpan();
        var t = TypeOf<T>();
        var q = Quaternion(v.Affine);
        BinaryPrimitives.WriteInt32LittleEndian(s, 540);
        "n+2\0\r\n\u001a\n"u8.CopyTo(s[4..]);
        BinaryPrimitives.WriteInt16LittleEndian(s[12..], (short)t);
        BinaryPrimitives.WriteInt16LittleEndian(s[14..], (short)(NiftiHeader.BytesOf(t) * 8));
        long[] dim = [3, v.Dims.X, v.Dims.Y, v.Dims.Z, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteInt64LittleEndian(s[(16 + 8 * i)..], dim[i]);
        double[] pix = [q.Qfac, q.Dx, q.Dy, q.Dz, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteDoubleLittleEndian(s[(104 + 8 * i)..], pix[i]);
        BinaryPrimitives.WriteInt64LittleEndian(s[168..], 544);
        BinaryPrimitives.WriteDoubleLittleEndian(s[176..], 1);
        Ascii(o.Description, s.Slice(240, 80));
        BinaryPrimitives.WriteInt32LittleEndian(s[344..], IsOrthogonal(v.Affine) ? 1 : 0); // qform_code
        BinaryPrimitives.WriteInt32LittleEndian(s[348..], 1); // sform_code
        double[] qv = [q.B, q.C, q.D, v.Affine[0, 3], v.Affine[1, 3], v.Affine[2, 3]];
        for (var i = 0; i < 6; i++) BinaryPrimitives.WriteDoubleLittleEndian(s[(352 + 8 * i)..], qv[i]);
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++) BinaryPrimitives.WriteDoubleLittleEndian(s[(400 + 32 * r + 8 * c)..], v.Affine[r, c]);
        BinaryPrimitives.WriteInt32LittleEndian(s[500..], 2 | 8);
        return h;
    }

    private static void Ascii(string text, Span<byte> field)
    {
        var clean = new StringBuilder();
        foreach (var c in text) clean.Append(c is >= ' ' and < (char)127 ? c : '?');
        var n = Encoding.ASCII.GetBytes(clean.ToString().AsSpan(0, Math.Min(clean.Length, field.Length - 1)), field);
        field[n..].Clear();
    }

    /// <summary>NIfTI quaternion parameters of an affine (its rotation made orthogonal first).</summary>
    internal static (double B, double C, double D, double Qfac, double Dx, double Dy, double Dz) Quaternion(Affine a)
    {
        var m = new double[3, 3];
        var dz = new double[3];
        for (var c = 0; c < 3; c++)
        {
            var n = Math.Sqrt(a[0, c] * a[0, c] + a[1, c] * a[1, c] + a[2, c] * a[2, c]);
            dz[c] = n == 0 ? 1 : n;
            for (var r = 0; r < 3; r++) m[r, c] = n == 0 ? (r == c ? 1 : 0) : a[r, c] / n;
        }
        Orthogonalize(m);
        var det = Det(m);
        var qfac = 1.0;
        if (det < 0)
        {
            qfac = -1;
            for (var r = 0; r < 3; r++) m[r, 2] = -m[r, 2];
        }
        double r11 = m[0, 0], r12 = m[0, 1], r13 = m[0, 2], r21 = m[1, 0], r22 = m[1, 1], r23 = m[1, 2], r31 = m[2, 0], r32 = m[2, 1], r33 = m[2, 2];
        double qa, qb, qc, qd;
        var trace = r11 + r22 + r33 + 1;
        if (trace > 0.5)
        {
            qa = 0.5 * Math.Sqrt(trace);
            qb = 0.25 * (r32 - r23) / qa;
            qc = 0.25 * (r13 - r31) / qa;
            qd = 0.25 * (r21 - r12) / qa;
        }
        else
        {
            double xd = 1 + r11 - (r22 + r33), yd = 1 + r22 - (r11 + r33), zd = 1 + r33 - (r11 + r22);
            if (xd > 1)
            {
                qb = 0.5 * Math.Sqrt(xd); qc = 0.25 * (r12 + r21) / qb; qd = 0.25 * (r13 + r31) / qb; qa = 0.25 * (r32 - r23) / qb;
            }
            else if (yd > 1)
            {
                qc = 0.5 * Math.Sqrt(yd); qb = 0.25 * (r12 + r21) / qc; qd = 0.25 * (r23 + r32) / qc; qa = 0.25 * (r13 - r31) / qc;
            }
            else
            {
                qd = 0.5 * Math.Sqrt(zd); qb = 0.25 * (r13 + r31) / qd; qc = 0.25 * (r23 + r32) / qd; qa = 0.25 * (r21 - r12) / qd;
            }
            if (qa < 0) { qb = -qb; qc = -qc; qd = -qd; }
        }
        return (qb, qc, qd, qfac, dz[0], dz[1], dz[2]);
    }

    // Nearest orthogonal matrix by the Newton polar iteration R <- (R + R^-T) / 2.
    private static void Orthogonalize(double[,] m)
    {
        for (var iter = 0; iter < 20; iter++)
        {
            var det = Det(m);
            if (Math.Abs(det) < 1e-12) return;
            var inv = new double[3, 3];
            inv[0, 0] = (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) / det;
            inv[0, 1] = (m[0, 2] * m[2, 1] - m[0, 1] * m[2, 2]) / det;
            inv[0, 2] = (m[0, 1] * m[1, 2] - m[0, 2] * m[1, 1]) / det;
            inv[1, 0] = (m[1, 2] * m[2, 0] - m[1, 0] * m[2, 2]) / det;
            inv[1, 1] = (m[0, 0] * m[2, 2] - m[0, 2] * m[2, 0]) / det;
            inv[1, 2] = (m[0, 2] * m[1, 0] - m[0, 0] * m[1, 2]) / det;
            inv[2, 0] = (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]) / det;
            inv[2, 1] = (m[0, 1] * m[2, 0] - m[0, 0] * m[2, 1]) / det;
            inv[2, 2] = (m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]) / det;
            var change = 0.0;
            for (var r = 0; r < 3; r++)
                for (var c = 0; c < 3; c++)
                {
                    var next = 0.5 * (m[r, c] + inv[c, r]);
                    change = Math.Max(change, Math.Abs(next - m[r, c]));
                    m[r, c] = next;
                }
            if (change < 1e-12) return;
        }
    }

    private static double Det(double[,] m) =>
        m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0]) + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);
}
