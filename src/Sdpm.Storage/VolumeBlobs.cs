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
        return ms.ToArray();
    }

    /// <summary>Reads a stored mask onto its volume's grid.</summary>
    public static Volume<byte> ReadMask(this IBlobStore store, string hash, VolumeGeometry geometry) =>
        RunLengthMask.Decode(store.ReadMaskRunLength(hash), geometry);
}
