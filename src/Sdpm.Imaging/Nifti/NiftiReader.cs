using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.IO;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Nifti;

/// <summary>Reads NIfTI-1 and NIfTI-2 single files (.nii, .nii.gz), 3D only, in their stored orientation.</summary>
/// <remarks>Use <see cref="VolumeImporter"/> for canonical-orientation volumes with de-identification findings;
/// the <c>Read*</c> helpers here return canonical volumes too.</remarks>
public static class NiftiReader
{
    private const int Nifti1HeaderSize = 348;
    private const int Nifti2HeaderSize = 540;
    private const long MaxHeaderBlock = 64L << 20; // extensions beyond 64 MiB are not plausible

    /// <summary>Reads a .nii or .nii.gz file (gzip is detected from the bytes, not the name).</summary>
    public static NiftiImage Read(string path, ImportLimits? limits = null)
    {
        limits ??= ImportLimits.Default;
        var name = Path.GetFileName(path);
        FileStream fs;
        try { fs = File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImagingException(ImagingError.NotFound, $"{name}: cannot be read ({e.Message}).");
        }
        using (fs) return Read(fs, name, limits);
    }

    /// <summary>Reads NIfTI from a stream (gzip-compressed or not).</summary>
    public static NiftiImage Read(Stream stream, string name, ImportLimits? limits = null)
    {
        limits ??= ImportLimits.Default;
        var buffered = stream is BufferedStream || stream is MemoryStream ? stream : new BufferedStream(stream, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        long? length = stream.CanSeek ? stream.Length - stream.Position : null;
        if (!stream.CanSeek) throw new ArgumentException("The stream must be seekable.", nameof(stream));
        var start = stream.Position;
        var got = Bytes.ReadFully(buffered, magic);
        buffered.Seek(start, SeekOrigin.Begin);
        if (got == 2 && Bytes.IsGzip(magic))
        {
            using var gz = new GZipStream(buffered, CompressionMode.Decompress, leaveOpen: true);
            using var limited = new LimitedReadStream(gz, limits.MaxBytes, name);
            try
            {
                return ReadUncompressed(limited, name, null, limits);
            }
            catch (InvalidDataException e)
            {
                throw new ImagingException(ImagingError.Truncated, $"{name}: the gzip stream is truncated or corrupt ({e.Message}).");
            }
        }
        return ReadUncompressed(buffered, name, length, limits);
    }

    /// <summary>Reads a file as a CT volume in HU (values rounded and clamped to int16), canonical orientation.</summary>
    public static Volume<short> ReadHu(string path, ImportLimits? limits = null) =>
        Orientation.ToCanonical(Read(path, limits).ToInt16());

    /// <summary>Reads a file as float values (probability maps), canonical orientation.</summary>
    public static Volume<float> ReadFloat(string path, ImportLimits? limits = null) =>
        Orientation.ToCanonical(Read(path, limits).ToFloat());

    /// <summary>Reads a file as a binary mask (non-zero is 1), canonical orientation.</summary>
    public static Volume<byte> ReadMask(string path, ImportLimits? limits = null) =>
        Orientation.ToCanonical(Read(path, limits).ToMask());

    private static NiftiImage ReadUncompressed(Stream s, string name, long? length, ImportLimits limits)
    {
        var head = new byte[Nifti2HeaderSize + 4];
        var n = Bytes.ReadFully(s, head.AsSpan(0, Nifti1HeaderSize + 4));
        if (n < 4)
            throw new ImagingException(ImagingError.Truncated, $"{name}: the file is too short to be NIfTI ({n} bytes).");
        var size = BinaryPrimitives.ReadInt32LittleEndian(head);
        var bigEndian = false;
        if (size != Nifti1HeaderSize && size != Nifti2HeaderSize)
        {
            var swapped = BinaryPrimitives.ReverseEndianness(size);
            if (swapped is Nifti1HeaderSize or Nifti2HeaderSize) { bigEndian = true; size = swapped; }
            else throw new ImagingException(ImagingError.UnknownFormat, $"{name}: not a NIfTI file (sizeof_hdr is {size}, expected 348 or 540).");
        }
        if (size == Nifti2HeaderSize && n == Nifti1HeaderSize + 4)
            n += Bytes.ReadFully(s, head.AsSpan(Nifti1HeaderSize + 4, Nifti2HeaderSize - Nifti1HeaderSize));
        if (n < size)
            throw new ImagingException(ImagingError.Truncated, $"{name}: the file ends inside the NIfTI header ({n} of {size} bytes).");

        var header = size == Nifti1HeaderSize ? ParseNifti1(head, bigEndian, name) : ParseNifti2(head, bigEndian, name);
        var dims = ValidateDims(header, name, limits);
        var bpv = header.BytesPerVoxel;
        var dataBytes = dims.VoxelCount * bpv;
        if (header.VoxOffset < size)
            throw new ImagingException(ImagingError.Inconsistent, $"{name}: vox_offset {header.VoxOffset} points inside the header.");
        if (header.VoxOffset > MaxHeaderBlock)
            throw new ImagingException(ImagingError.TooLarge, $"{name}: vox_offset {header.VoxOffset} is implausibly large.");
        if (header.VoxOffset + dataBytes > limits.MaxBytes)
            throw new ImagingException(ImagingError.TooLarge,
                $"{name}: {dims} voxels of {NiftiHeader.NameOf(header.DataType)} need {Bytes.Format(dataBytes)}, over the limit of {Bytes.Format(limits.MaxBytes)}.");
        if (length is { } len && len < header.VoxOffset + dataBytes)
            throw new ImagingException(ImagingError.Truncated,
                $"{name}: the header's dims {dims} of {NiftiHeader.NameOf(header.DataType)} need {header.VoxOffset + dataBytes} bytes but the file has {len}: it is truncated (or its dims are wrong).");

        // Bytes between the header and vox_offset: the extension flag and the extensions.
        var block = new byte[header.VoxOffset];
        var have = Math.Min(n, (int)header.VoxOffset);
        head.AsSpan(0, have).CopyTo(block);
        if (Bytes.ReadFully(s, block.AsSpan(have)) < block.Length - have)
            throw new ImagingException(ImagingError.Truncated, $"{name}: the file ends before vox_offset {header.VoxOffset}.");
        var extensions = ParseExtensions(block, size, bigEndian);

        var overlap = n - (int)Math.Min(n, header.VoxOffset);
        var raw = ReadData(s, dataBytes, head.AsSpan((int)Math.Min(n, header.VoxOffset), overlap), knownLength: length is not null, name, dims);
        if (bigEndian) SwapInPlace(raw, bpv);
        CheckFinite(raw, header.DataType, name);
        return new NiftiImage(new NiftiHeader
        {
            Version = header.Version, BigEndian = header.BigEndian, VoxOffset = header.VoxOffset, DataType = header.DataType,
            BitPix = header.BitPix, Dim = header.Dim, PixDim = header.PixDim, SclSlope = header.SclSlope, SclInter = header.SclInter,
            QformCode = header.QformCode, SformCode = header.SformCode, QuaternB = header.QuaternB, QuaternC = header.QuaternC,
            QuaternD = header.QuaternD, QOffsetX = header.QOffsetX, QOffsetY = header.QOffsetY, QOffsetZ = header.QOffsetZ,
            SRows = header.SRows, IntentCode = header.IntentCode, Descrip = header.Descrip, AuxFile = header.AuxFile,
            IntentName = header.IntentName, XyztUnits = header.XyztUnits, Extensions = extensions,
        }, name, raw);
    }

    // When the stream length is unknown (gzip), the buffer grows with the bytes that arrive instead of trusting
    // the header: a tiny file claiming a huge volume fails as truncated without the huge allocation.
    private static byte[] ReadData(Stream s, long dataBytes, ReadOnlySpan<byte> prefix, bool knownLength, string name, Dims dims)
    {
        const int FirstChunk = 16 << 20;
        var raw = new byte[knownLength ? dataBytes : Math.Min(dataBytes, Math.Max(FirstChunk, prefix.Length))];
        prefix.CopyTo(raw);
        var read = (long)prefix.Length;
        while (true)
        {
            read += Bytes.ReadFully(s, raw.AsSpan((int)read));
            if (read < raw.Length || raw.Length == dataBytes) break;
            Array.Resize(ref raw, (int)Math.Min(dataBytes, raw.Length * 2L));
        }
        if (read < dataBytes)
            throw new ImagingException(ImagingError.Truncated,
                $"{name}: the file ends after {read} of {dataBytes} bytes of voxel data: it is truncated (or its dims {dims} are wrong).");
        return raw;
    }

    private static NiftiHeader ParseNifti1(byte[] h, bool be, string name)
    {
        var magic = h.AsSpan(344, 4);
        if (magic.SequenceEqual("ni1\0"u8))
            throw new ImagingException(ImagingError.Unsupported, $"{name}: a NIfTI-1 .hdr/.img pair is not supported; convert it to a single .nii file.");
        if (!magic.SequenceEqual("n+1\0"u8))
            throw new ImagingException(ImagingError.UnknownFormat, $"{name}: wrong NIfTI-1 magic '{Printable(magic)}' (expected 'n+1'); Analyze files are not supported.");
        var r = new Reader(h, be);
        var dim = new long[8];
        for (var i = 0; i < 8; i++) dim[i] = r.I16(40 + 2 * i);
        var pix = new double[8];
        for (var i = 0; i < 8; i++) pix[i] = r.F32(76 + 4 * i);
        var srows = new double[12];
        for (var i = 0; i < 12; i++) srows[i] = r.F32(280 + 4 * i);
        return new NiftiHeader
        {
            Version = 1, BigEndian = be, Dim = dim, PixDim = pix, SRows = srows,
            IntentCode = r.I16(68), DataType = (NiftiDataType)r.I16(70), BitPix = r.I16(72),
            VoxOffset = (long)r.F32(108), SclSlope = r.F32(112), SclInter = r.F32(116), XyztUnits = h[123],
            Descrip = Text(h, 148, 80), AuxFile = Text(h, 228, 24),
            QformCode = r.I16(252), SformCode = r.I16(254),
            QuaternB = r.F32(256), QuaternC = r.F32(260), QuaternD = r.F32(264),
            QOffsetX = r.F32(268), QOffsetY = r.F32(272), QOffsetZ = r.F32(276),
            IntentName = Text(h, 328, 16),
        };
    }

    private static NiftiHeader ParseNifti2(byte[] h, bool be, string name)
    {
        var magic = h.AsSpan(4, 8);
        if (magic[..4].SequenceEqual("ni2\0"u8))
            throw new ImagingException(ImagingError.Unsupported, $"{name}: a NIfTI-2 .hdr/.img pair is not supported; convert it to a single .nii file.");
        if (!magic.SequenceEqual("n+2\0\r\n\u001a\n"u8))
            throw new ImagingException(ImagingError.UnknownFormat, $"{name}: wrong NIfTI-2 magic '{Printable(magic)}' (expected 'n+2').");
        var r = new Reader(h, be);
        var dim = new long[8];
        for (var i = 0; i < 8; i++) dim[i] = r.I64(16 + 8 * i);
        var pix = new double[8];
        for (var i = 0; i < 8; i++) pix[i] = r.F64(104 + 8 * i);
        var srows = new double[12];
        for (var i = 0; i < 12; i++) srows[i] = r.F64(400 + 8 * i);
        return new NiftiHeader
        {
            Version = 2, BigEndian = be, Dim = dim, PixDim = pix, SRows = srows,
            DataType = (NiftiDataType)r.I16(12), BitPix = r.I16(14), VoxOffset = r.I64(168),
            SclSlope = r.F64(176), SclInter = r.F64(184), Descrip = Text(h, 240, 80), AuxFile = Text(h, 320, 24),
            QformCode = r.I32(344), SformCode = r.I32(348),
            QuaternB = r.F64(352), QuaternC = r.F64(360), QuaternD = r.F64(368),
            QOffsetX = r.F64(376), QOffsetY = r.F64(384), QOffsetZ = r.F64(392),
            XyztUnits = r.I32(500), IntentCode = r.I32(504), IntentName = Text(h, 508, 16),
        };
    }

    private static Dims ValidateDims(NiftiHeader h, string name, ImportLimits limits)
    {
        var d = h.Dim;
        if (d[0] < 1 || d[0] > 7)
            throw new ImagingException(ImagingError.Inconsistent, $"{name}: dim[0] = {d[0]} is not a valid number of dimensions.");
        for (var i = 1; i <= d[0]; i++)
            if (d[i] <= 0)
                throw new ImagingException(ImagingError.Inconsistent, $"{name}: dim[{i}] = {d[i]} is not positive.");
        for (var i = 4; i <= d[0]; i++)
            if (d[i] > 1)
            {
                var all = string.Join('x', d.Skip(1).Take((int)d[0]));
                throw new ImagingException(ImagingError.Unsupported,
                    $"{name}: a {d[0]}D NIfTI ({all}) is not supported; give one 3D volume (for example the first time point).");
            }
        if (NiftiHeader.BytesOf(h.DataType) == 0)
            throw new ImagingException(ImagingError.Unsupported,
                $"{name}: NIfTI datatype {(int)h.DataType} is not supported (supported: uint8, int8, int16, uint16, int32, float32, float64).");
        long x = d[1], y = d[0] >= 2 ? d[2] : 1, z = d[0] >= 3 ? d[3] : 1;
        limits.CheckDims(x, y, z, name);
        return new Dims((int)x, (int)y, (int)z);
    }

    private static List<NiftiExtension> ParseExtensions(byte[] block, int headerSize, bool be)
    {
        var list = new List<NiftiExtension>();
        if (block.Length < headerSize + 4 || block[headerSize] == 0) return list;
        var pos = headerSize + 4;
        while (pos + 8 <= block.Length)
        {
            var esize = be ? BinaryPrimitives.ReadInt32BigEndian(block.AsSpan(pos)) : BinaryPrimitives.ReadInt32LittleEndian(block.AsSpan(pos));
            var ecode = be ? BinaryPrimitives.ReadInt32BigEndian(block.AsSpan(pos + 4)) : BinaryPrimitives.ReadInt32LittleEndian(block.AsSpan(pos + 4));
            if (esize < 8 || pos + esize > block.Length) break; // malformed: keep what was read, the data is still valid
            list.Add(new NiftiExtension(ecode, block.AsSpan(pos + 8, esize - 8).ToArray()));
            pos += esize;
        }
        return list;
    }

    private static void SwapInPlace(byte[] raw, int bpv)
    {
        if (bpv == 1) return;
        for (var i = 0; i + bpv <= raw.Length; i += bpv) raw.AsSpan(i, bpv).Reverse();
    }

    private static void CheckFinite(byte[] raw, NiftiDataType t, string name)
    {
        long bad = -1;
        if (t == NiftiDataType.Float32)
        {
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw);
            for (var i = 0; i < f.Length; i++) if (!float.IsFinite(f[i])) { bad = i; break; }
        }
        else if (t == NiftiDataType.Float64)
        {
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw);
            for (var i = 0; i < f.Length; i++) if (!double.IsFinite(f[i])) { bad = i; break; }
        }
        if (bad >= 0)
            throw new ImagingException(ImagingError.InvalidValues, $"{name}: voxel {bad} is NaN or infinite; float data must be finite.");
    }

    private static string Text(byte[] h, int offset, int length)
    {
        var span = h.AsSpan(offset, length);
        var end = span.IndexOf((byte)0);
        if (end >= 0) span = span[..end];
        return Encoding.Latin1.GetString(span).Trim();
    }

    private static string Printable(ReadOnlySpan<byte> b)
    {
        var sb = new StringBuilder();
        foreach (var c in b) sb.Append(c is >= 32 and < 127 ? (char)c : '.');
        return sb.ToString();
    }

    private readonly struct Reader(byte[] h, bool be)
    {
        public short I16(int o) => be ? BinaryPrimitives.ReadInt16BigEndian(h.AsSpan(o)) : BinaryPrimitives.ReadInt16LittleEndian(h.AsSpan(o));
        public int I32(int o) => be ? BinaryPrimitives.ReadInt32BigEndian(h.AsSpan(o)) : BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(o));
        public long I64(int o) => be ? BinaryPrimitives.ReadInt64BigEndian(h.AsSpan(o)) : BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(o));
        public float F32(int o) => be ? BinaryPrimitives.ReadSingleBigEndian(h.AsSpan(o)) : BinaryPrimitives.ReadSingleLittleEndian(h.AsSpan(o));
        public double F64(int o) => be ? BinaryPrimitives.ReadDoubleBigEndian(h.AsSpan(o)) : BinaryPrimitives.ReadDoubleLittleEndian(h.AsSpan(o));
    }
}
