using System.IO.Compression;
using Sdpm.Imaging;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Storage;

/// <summary>Volumes and masks as blobs: volumes decoded in the slice-addressable <see cref="VolumeStore"/> layout
/// (one slice = one seek and one read), masks run-length encoded and gzipped.</summary>
public static class VolumeBlobs
{
    /// <summary>Stores a volume (int16 HU, uint8 or float32) decoded; its hash names the decoded content, so the
    /// same scan uploaded as NIfTI and as DICOM gets the same hash.</summary>
    public static Task<BlobInfo> PutVolumeAsync<T>(this IBlobStore store, Volume<T> volume, CancellationToken ct = default) where T : unmanaged =>
        store.PutAsync((stream, token) =>
        {
            VolumeStore.Write(stream, volume, token);
            return Task.CompletedTask;
        }, ct);

    /// <summary>The hash a volume will have as a blob, computed without writing it (for duplicate checks before storing).</summary>
    public static string HashOf<T>(Volume<T> volume) where T : unmanaged
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using (var sink = new HashingWriteStream(Stream.Null, sha))
        {
            VolumeStore.Write(sink, volume);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Reads the header of a stored volume.</summary>
    public static VolumeStoreHeader ReadVolumeHeader(this IBlobStore store, string hash)
    {
        using var stream = store.OpenRead(hash);
        return VolumeStore.ReadHeader(stream, hash);
    }

    /// <summary>Reads one axial slice into <paramref name="destination"/> (X*Y voxels) with one seek.</summary>
    public static VolumeStoreHeader ReadSlice<T>(this IBlobStore store, string hash, int z, Span<T> destination) where T : unmanaged
    {
        using var stream = store.OpenRead(hash);
        var header = VolumeStore.ReadHeader(stream, hash);
        VolumeStore.ReadSlice(stream, header, z, destination, hash);
        return header;
    }

    /// <summary>Reads the bytes of axial slice z as stored (little-endian voxels, x fastest) into <paramref name="destination"/>,
    /// which must hold exactly one slice; one seek and one read, no conversion.</summary>
    public static async Task<VolumeStoreHeader> ReadSliceBytesAsync(this IBlobStore store, string hash, int z, Memory<byte> destination, CancellationToken ct = default)
    {
        await using var stream = store.OpenRead(hash);
        var header = VolumeStore.ReadHeader(stream, hash);
        if ((uint)z >= (uint)header.Dims.Z) throw new ArgumentOutOfRangeException(nameof(z), $"Slice {z} is outside 0..{header.Dims.Z - 1}.");
        if (destination.Length != header.SliceBytes) throw new ArgumentException($"The destination holds {destination.Length} bytes, a slice {header.SliceBytes}.", nameof(destination));
        stream.Seek(VolumeStore.HeaderSize + z * header.SliceBytes, SeekOrigin.Begin);
        var read = 0;
        while (read < destination.Length)
        {
            var n = await stream.ReadAsync(destination[read..], ct);
            if (n == 0) throw new ImagingException(ImagingError.Truncated, $"{hash}: the stored volume ends inside slice {z}.");
            read += n;
        }
        return header;
    }

    /// <summary>Reads a whole stored volume.</summary>
    public static Volume<T> ReadVolume<T>(this IBlobStore store, string hash, CancellationToken ct = default) where T : unmanaged
    {
        using var stream = store.OpenRead(hash);
        var header = VolumeStore.ReadHeader(stream, hash);
        var volume = new Volume<T>(header.Dims, header.Affine);
        for (var z = 0; z < header.Dims.Z; z++)
        {
            ct.ThrowIfCancellationRequested();
            VolumeStore.ReadSlice(stream, header, z, volume.Slice(z), hash);
        }
        return volume;
    }

    /// <summary>Stores a binary mask as gzipped run-length data (<see cref="RunLengthMask"/>).</summary>
    public static Task<BlobInfo> PutMaskAsync(this IBlobStore store, Volume<byte> mask, CancellationToken ct = default)
    {
        var rle = RunLengthMask.Encode(mask);
        return store.PutAsync(async (stream, token) =>
        {
            await using var gzip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
            await gzip.WriteAsync(rle, token);
        }, ct);
    }

    /// <summary>The run-length bytes of a stored mask (what the browser decodes).</summary>
    public static byte[] ReadMaskRunLength(this IBlobStore store, string hash)
    {
        using var stream = store.OpenRead(hash);
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var ms = new MemoryStream();
        try
        {
            gzip.CopyTo(ms);
        }
        catch (InvalidDataException e)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"Stored mask {hash} is corrupt ({e.Message}).");
        }
        // GZipStream reports garbage but not a stream that stops early (a truncated or empty file reads as fewer
        // bytes), so the run-length data is checked to be whole before it is handed on.
        var rle = ms.ToArray();
        if (RunLengthProblem(rle) is { } problem)
            throw new ImagingException(ImagingError.Inconsistent, $"Stored mask {hash} is corrupt ({problem}).");
        return rle;
    }

    /// <summary>Reads a stored mask onto its volume's grid.</summary>
    public static Volume<byte> ReadMask(this IBlobStore store, string hash, VolumeGeometry geometry) =>
        RunLengthMask.Decode(store.ReadMaskRunLength(hash), geometry);

    /// <summary>Why <paramref name="data"/> is not a whole binary run-length mask (<see cref="RunLengthMask"/>: "SRLE",
    /// version 1, X, Y, Z, then per slice a run count and runs summing to X*Y, nothing after), or null when it is.</summary>
    private static string? RunLengthProblem(ReadOnlySpan<byte> data)
    {
        if (data.Length < 5 || !data[..4].SequenceEqual("SRLE"u8) || data[4] != 1) return "not run-length data";
        var pos = 5;
        if (!RunLengthMask.TryReadVarint(data, ref pos, out var x) || !RunLengthMask.TryReadVarint(data, ref pos, out var y) || !RunLengthMask.TryReadVarint(data, ref pos, out var z))
            return "the data ends inside its dims";
        if (x == 0 || y == 0 || z == 0) return $"dims {x}x{y}x{z}";
        var sliceLength = (ulong)x * y;
        for (uint k = 0; k < z; k++)
        {
            if (!RunLengthMask.TryReadVarint(data, ref pos, out var count)) return $"the data ends before slice {k}";
            ulong covered = 0;
            for (uint r = 0; r < count; r++)
            {
                if (!RunLengthMask.TryReadVarint(data, ref pos, out var run)) return $"the data ends inside slice {k}";
                covered += run;
            }
            if (covered != sliceLength) return $"the runs of slice {k} cover {covered} pixels, not {sliceLength}";
        }
        return pos == data.Length ? null : "bytes follow the last slice";
    }
}
