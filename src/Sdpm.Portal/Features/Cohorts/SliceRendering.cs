using System.Runtime.InteropServices;
using Sdpm.Imaging.Display;
using Sdpm.Imaging.Png;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Slices of stored volumes for the viewer and scripts: raw int16 HU, or windowed 8-bit PNG.</summary>
public static class SliceRendering
{
    /// <summary>Slice z as little-endian int16 HU, x fastest.</summary>
    public static byte[] Raw(IBlobStore blobs, string imageHash, int x, int y, int z)
    {
        var slice = new short[x * y];
        blobs.ReadSlice<short>(imageHash, z, slice);
        return MemoryMarshal.AsBytes(slice.AsSpan()).ToArray();
    }

    /// <summary>Slice z windowed to 8-bit grey as PNG.</summary>
    public static byte[] Png(IBlobStore blobs, string imageHash, int x, int y, int z, Window window)
    {
        var slice = new short[x * y];
        blobs.ReadSlice<short>(imageHash, z, slice);
        var grey = new byte[slice.Length];
        SliceRenderer.ToGray8(slice, window, grey);
        return PngEncoder.EncodeGray8(grey, x, y);
    }
}
