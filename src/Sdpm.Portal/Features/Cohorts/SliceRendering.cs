using System.Buffers;
using Sdpm.Imaging.Display;
using Sdpm.Imaging.Png;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Slices of stored volumes for the viewer and scripts: raw int16 HU, or windowed 8-bit PNG. Buffers are
/// pooled: a viewer scrolling through 512x512 slices would otherwise allocate half a megabyte per request.</summary>
public static class SliceRendering
{
    /// <summary>Writes slice z as little-endian int16 HU, x fastest: the stored bytes as they are.</summary>
    public static IResult Raw(IBlobStore blobs, string imageHash, int x, int y, int z) => new RawSlice(blobs, imageHash, x * y * 2, z);

    /// <summary>Slice z windowed to 8-bit grey as PNG.</summary>
    public static byte[] Png(IBlobStore blobs, string imageHash, int x, int y, int z, Window window)
    {
        var length = x * y;
        var slice = ArrayPool<short>.Shared.Rent(length);
        var grey = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            blobs.ReadSlice<short>(imageHash, z, slice.AsSpan(0, length));
            SliceRenderer.ToGray8(slice.AsSpan(0, length), window, grey.AsSpan(0, length));
            return PngEncoder.EncodeGray8(grey.AsSpan(0, length), x, y);
        }
        finally
        {
            ArrayPool<short>.Shared.Return(slice);
            ArrayPool<byte>.Shared.Return(grey);
        }
    }

    private sealed class RawSlice(IBlobStore blobs, string hash, int bytes, int z) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(bytes);
            try
            {
                await blobs.ReadSliceBytesAsync(hash, z, buffer.AsMemory(0, bytes), http.RequestAborted);
                http.Response.ContentType = "application/octet-stream";
                http.Response.ContentLength = bytes;
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, bytes), http.RequestAborted);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
