using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Sdpm.Imaging.IO;
using Sdpm.Imaging.Nifti;

namespace Sdpm.Imaging.Volumes;

/// <summary>The header of a stored volume file.</summary>
/// <param name="Spacing">Voxel size in mm as stored (equal to the affine's column lengths).</param>
public sealed record VolumeStoreHeader(Dims Dims, Spacing Spacing, Affine Affine, NiftiDataType DataType)
{
    public VolumeGeometry Geometry => new(Dims, Affine);

    /// <summary>Bytes of one axial slice.</summary>
    public long SliceBytes => (long)Dims.SliceLength * NiftiHeader.BytesOf(DataType);
}

/// <summary>The decoded, slice-addressable form in which volumes are kept (the portal's blob store), so that one
/// axial slice is one seek and one read, with no decompression.</summary>
/// <remarks>
/// Layout, little-endian, version 1:
/// <code>
///   0  8 bytes   magic "SDPMVOL\0"
///   8  int32     version (1)
///  12  int32     datatype, NIfTI codes: 2 uint8 (masks), 4 int16 (HU), 16 float32 (probabilities)
///  16  int32 x3  dims X, Y, Z
///  28  int32     reserved (0)
///  32  float64 x3   spacing X, Y, Z (mm)
///  56  float64 x12  affine, top three rows, row-major (voxel to RAS mm)
/// 152  zeros up to 256
/// 256  voxels: x fastest, then y, then z; slice k starts at 256 + k * X * Y * bytes-per-voxel
/// </code>
/// Volumes are written through a temporary name and renamed, so a reader never sees half a file.
/// </remarks>
public static class VolumeStore
{
    /// <summary>Bytes before the first voxel.</summary>
    public const int HeaderSize = 256;

    private const int Version = 1;
    private static ReadOnlySpan<byte> Magic => "SDPMVOL\0"u8;

    /// <summary>Writes a volume (short, byte or float voxels) atomically.</summary>
    public static void Write<T>(string path, Volume<T> volume, CancellationToken ct = default) where T : unmanaged
    {
        var type = TypeOf<T>();
        Bytes.WriteAtomically(path, fs => WriteTo(fs, volume, type, ct));
    }

    /// <summary>Writes a volume to a stream.</summary>
    public static void Write<T>(Stream stream, Volume<T> volume, CancellationToken ct = default) where T : unmanaged =>
        WriteTo(stream, volume, TypeOf<T>(), ct);

    /// <summary>Reads the header of a stored volume.</summary>
    public static VolumeStoreHeader ReadHeader(string path)
    {
        using var fs = OpenRead(path);
        return ReadHeader(fs, Path.GetFileName(path));
    }

    /// <summary>Reads the header from the start of a stream (which must be seekable to read slices afterwards).</summary>
    public static VolumeStoreHeader ReadHeader(Stream stream, string name = "volume")
    {
        Span<byte> h = stackalloc byte[HeaderSize];
        if (Bytes.ReadFully(stream, h) < HeaderSize)
            throw new ImagingException(ImagingError.Truncated, $"{name}: the file ends inside the volume header.");
        if (!h[..8].SequenceEqual(Magic))
            throw new ImagingException(ImagingError.UnknownFormat, $"{name}: not a stored volume (wrong magic).");
        var version = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        if (version != Version)
            throw new ImagingException(ImagingError.Unsupported, $"{name}: stored volume version {version} is not supported.");
        var type = (NiftiDataType)BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
        if (type is not (NiftiDataType.UInt8 or NiftiDataType.Int16 or NiftiDataType.Float32))
            throw new ImagingException(ImagingError.Unsupported, $"{name}: stored volume datatype {(int)type} is not supported.");
        var dims = new Dims(BinaryPrimitives.ReadInt32LittleEndian(h[16..]), BinaryPrimitives.ReadInt32LittleEndian(h[20..]),
            BinaryPrimitives.ReadInt32LittleEndian(h[24..]));
        if (dims.X <= 0 || dims.Y <= 0 || dims.Z <= 0 || dims.VoxelCount > Array.MaxLength)
            throw new ImagingException(ImagingError.Inconsistent, $"{name}: stored volume dims {dims} are not valid.");
        var spacing = new Spacing(BinaryPrimitives.ReadDoubleLittleEndian(h[32..]), BinaryPrimitives.ReadDoubleLittleEndian(h[40..]),
            BinaryPrimitives.ReadDoubleLittleEndian(h[48..]));
        var rows = new double[12];
        for (var i = 0; i < 12; i++) rows[i] = BinaryPrimitives.ReadDoubleLittleEndian(h[(56 + 8 * i)..]);
        return new VolumeStoreHeader(dims, spacing, Affine.FromRows(rows), type);
    }

    /// <summary>Reads axial slice z (X*Y voxels, row y at y*X) by seeking to it; nothing else is read.</summary>
    public static T[] ReadSlice<T>(string path, int z) where T : unmanaged
    {
        using var fs = OpenRead(path, bufferSize: 1);
        var header = ReadHeader(fs, Path.GetFileName(path));
        var slice = new T[header.Dims.SliceLength];
        ReadSlice(fs, header, z, slice.AsSpan(), Path.GetFileName(path));
        return slice;
    }

    /// <summary>Reads axial slice z of a seekable stream whose header was read with <see cref="ReadHeader(Stream, string)"/>.</summary>
    public static void ReadSlice<T>(Stream stream, VolumeStoreHeader header, int z, Span<T> destination, string name = "volume") where T : unmanaged
    {
        CheckType<T>(header, name);
        if ((uint)z >= (uint)header.Dims.Z)
            throw new ArgumentOutOfRangeException(nameof(z), $"Slice {z} is outside 0..{header.Dims.Z - 1}.");
        if (destination.Length != header.Dims.SliceLength)
            throw new ArgumentException($"The destination holds {destination.Length} voxels, a slice {header.Dims.SliceLength}.", nameof(destination));
        stream.Seek(HeaderSize + z * header.SliceBytes, SeekOrigin.Begin);
        var bytes = MemoryMarshal.AsBytes(destination);
        if (Bytes.ReadFully(stream, bytes) < bytes.Length)
            throw new ImagingException(ImagingError.Truncated, $"{name}: the stored volume ends inside slice {z}.");
    }

    /// <summary>Reads the whole volume.</summary>
    public static Volume<T> ReadVolume<T>(string path, CancellationToken ct = default) where T : unmanaged
    {
        var name = Path.GetFileName(path);
        using var fs = OpenRead(path);
        var header = ReadHeader(fs, name);
        CheckType<T>(header, name);
        var expected = HeaderSize + header.Dims.Z * header.SliceBytes;
        if (fs.Length < expected)
            throw new ImagingException(ImagingError.Truncated, $"{name}: the stored volume has {fs.Length} bytes, its dims {header.Dims} need {expected}.");
        var volume = new Volume<T>(header.Dims, header.Affine);
        for (var z = 0; z < header.Dims.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            var bytes = MemoryMarshal.AsBytes(volume.Slice(z));
            if (Bytes.ReadFully(fs, bytes) < bytes.Length)
                throw new ImagingException(ImagingError.Truncated, $"{name}: the stored volume ends inside slice {z}.");
        }
        return volume;
    }

    private static void WriteTo<T>(Stream stream, Volume<T> volume, NiftiDataType type, CancellationToken ct) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Stored volumes need a little-endian machine.");
        Span<byte> h = stackalloc byte[HeaderSize];
        h.Clear();
        Magic.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], (int)type);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], volume.Dims.X);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], volume.Dims.Y);
        BinaryPrimitives.WriteInt32LittleEndian(h[24..], volume.Dims.Z);
        var spacing = volume.Spacing;
        BinaryPrimitives.WriteDoubleLittleEndian(h[32..], spacing.X);
        BinaryPrimitives.WriteDoubleLittleEndian(h[40..], spacing.Y);
        BinaryPrimitives.WriteDoubleLittleEndian(h[48..], spacing.Z);
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++) BinaryPrimitives.WriteDoubleLittleEndian(h[(56 + 8 * (4 * r + c))..], volume.Affine[r, c]);
        stream.Write(h);
        for (var z = 0; z < volume.Dims.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            stream.Write(MemoryMarshal.AsBytes<T>(volume.Slice(z)));
        }
    }

    private static NiftiDataType TypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(short) ? NiftiDataType.Int16 :
        typeof(T) == typeof(byte) ? NiftiDataType.UInt8 :
        typeof(T) == typeof(float) ? NiftiDataType.Float32 :
        throw new ArgumentException($"Voxel type {typeof(T).Name} cannot be stored (short, byte or float).");

    private static void CheckType<T>(VolumeStoreHeader header, string name) where T : unmanaged
    {
        if (TypeOf<T>() != header.DataType)
            throw new ImagingException(ImagingError.Inconsistent,
                $"{name}: the stored volume holds {NiftiHeader.NameOf(header.DataType)}, not {NiftiHeader.NameOf(TypeOf<T>())}.");
    }

    private static FileStream OpenRead(string path, int bufferSize = 1 << 16)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImagingException(ImagingError.NotFound, $"{Path.GetFileName(path)}: cannot be read ({e.Message}).");
        }
    }
}
