using System.Buffers.Binary;
using System.IO.Compression;

namespace Sdpm.Imaging.Png;

/// <summary>Minimal fast PNG encoder: 8-bit grey, RGB or RGBA, non-interlaced.</summary>
/// <remarks>Every row uses the Sub filter and zlib's fastest level: a 512x512 grey slice encodes in a few ms.</remarks>
public static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>Encodes 8-bit grey pixels (row-major, width*height bytes).</summary>
    public static byte[] EncodeGray8(ReadOnlySpan<byte> pixels, int width, int height, CompressionLevel level = CompressionLevel.Fastest) =>
        Encode(pixels, width, height, 1, level);

    /// <summary>Encodes RGB pixels (3 bytes per pixel).</summary>
    public static byte[] EncodeRgb8(ReadOnlySpan<byte> pixels, int width, int height, CompressionLevel level = CompressionLevel.Fastest) =>
        Encode(pixels, width, height, 3, level);

    /// <summary>Encodes RGBA pixels (4 bytes per pixel, straight alpha).</summary>
    public static byte[] EncodeRgba8(ReadOnlySpan<byte> pixels, int width, int height, CompressionLevel level = CompressionLevel.Fastest) =>
        Encode(pixels, width, height, 4, level);

    private static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels, CompressionLevel level)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException("Width and height must be positive.");
        var stride = width * channels;
        if (pixels.Length != stride * height)
            throw new ArgumentException($"Expected {stride * height} bytes for {width}x{height}x{channels}, got {pixels.Length}.", nameof(pixels));

        var filtered = new byte[(stride + 1) * height];
        for (var y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * stride, stride);
            var o = y * (stride + 1);
            filtered[o++] = 1; // Sub
            for (var i = 0; i < channels; i++) filtered[o + i] = row[i];
            for (var i = channels; i < stride; i++) filtered[o + i] = (byte)(row[i] - row[i - channels]);
        }

        using var idat = new MemoryStream(filtered.Length / 2 + 64);
        using (var z = new ZLibStream(idat, level, leaveOpen: true)) z.Write(filtered);

        using var png = new MemoryStream((int)idat.Length + 64);
        png.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;
        ihdr[9] = channels switch { 1 => 0, 3 => 2, _ => 6 };
        ihdr[10] = ihdr[11] = ihdr[12] = 0;
        WriteChunk(png, "IHDR"u8, ihdr);
        WriteChunk(png, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> buf = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        s.Write(buf);
        s.Write(type);
        s.Write(data);
        var crc = Crc32.Append(Crc32.Compute(type), data);
        BinaryPrimitives.WriteUInt32BigEndian(buf, crc);
        s.Write(buf);
    }
}
