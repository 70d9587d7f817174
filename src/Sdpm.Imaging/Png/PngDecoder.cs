using System.Buffers.Binary;
using System.IO.Compression;

namespace Sdpm.Imaging.Png;

/// <summary>A decoded 8-bit PNG: row-major pixels with 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels.</summary>
public sealed record PngImage(int Width, int Height, int Channels, byte[] Pixels)
{
    /// <summary>One grey byte per pixel: grey as is, colour as the mean of R, G and B (alpha ignored).</summary>
    public byte[] ToGray()
    {
        if (Channels == 1) return Pixels;
        var g = new byte[Width * Height];
        for (var i = 0; i < g.Length; i++)
        {
            var p = i * Channels;
            g[i] = Channels < 3 ? Pixels[p] : (byte)((Pixels[p] + Pixels[p + 1] + Pixels[p + 2] + 1) / 3);
        }
        return g;
    }
}

/// <summary>PNG decoder for 8-bit grey, grey+alpha, RGB and RGBA non-interlaced images (what slice exports use).</summary>
public static class PngDecoder
{
    /// <summary>Decodes a PNG, refusing other colour types, bit depths and interlacing with an <see cref="ImagingException"/>.</summary>
    public static PngImage Decode(ReadOnlySpan<byte> png, string name = "PNG", int maxDim = 16384)
    {
        if (png.Length < 8 || !png[..8].SequenceEqual((ReadOnlySpan<byte>)[137, 80, 78, 71, 13, 10, 26, 10]))
            throw new ImagingException(ImagingError.UnknownFormat, $"{name}: not a PNG file.");
        var pos = 8;
        int width = 0, height = 0, channels = 0;
        var seenHeader = false;
        using var idat = new MemoryStream();
        while (true)
        {
            if (pos + 12 > png.Length) throw new ImagingException(ImagingError.Truncated, $"{name}: the PNG is truncated.");
            var len = BinaryPrimitives.ReadInt32BigEndian(png[pos..]);
            if (len < 0 || pos + 12L + len > png.Length) throw new ImagingException(ImagingError.Truncated, $"{name}: the PNG is truncated.");
            var type = png.Slice(pos + 4, 4);
            var data = png.Slice(pos + 8, len);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + len)..]);
            if (Crc32.Append(Crc32.Compute(type), data) != crc)
                throw new ImagingException(ImagingError.Inconsistent, $"{name}: PNG chunk CRC mismatch (corrupt file).");
            pos += 12 + len;
            if (type.SequenceEqual("IHDR"u8))
            {
                if (len != 13) throw new ImagingException(ImagingError.Inconsistent, $"{name}: bad PNG header.");
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                int depth = data[8], colour = data[9], interlace = data[12];
                channels = colour switch { 0 => 1, 4 => 2, 2 => 3, 6 => 4, _ => 0 };
                if (depth != 8 || channels == 0 || interlace != 0)
                    throw new ImagingException(ImagingError.Unsupported,
                        $"{name}: PNG with colour type {colour}, bit depth {depth}{(interlace != 0 ? ", interlaced" : "")} is not supported (8-bit grey, grey+alpha, RGB or RGBA, non-interlaced only).");
                if (width <= 0 || height <= 0 || width > maxDim || height > maxDim)
                    throw new ImagingException(ImagingError.TooLarge, $"{name}: PNG size {width}x{height} is outside 1..{maxDim}.");
                seenHeader = true;
            }
            else if (type.SequenceEqual("IDAT"u8)) idat.Write(data);
            else if (type.SequenceEqual("IEND"u8)) break;
        }
        if (!seenHeader) throw new ImagingException(ImagingError.Inconsistent, $"{name}: PNG without a header.");

        var stride = width * channels;
        var raw = new byte[(long)(stride + 1) * height];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            if (IO.Bytes.ReadFully(z, raw) < raw.Length)
                throw new ImagingException(ImagingError.Truncated, $"{name}: PNG image data is shorter than {width}x{height}.");
        }
        catch (InvalidDataException)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{name}: PNG image data is corrupt.");
        }
        var pixels = new byte[stride * height];
        Unfilter(raw, pixels, stride, height, channels, name);
        return new PngImage(width, height, channels, pixels);
    }

    private static void Unfilter(byte[] raw, byte[] dst, int stride, int height, int bpp, string name)
    {
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            var src = raw.AsSpan(y * (stride + 1) + 1, stride);
            var cur = dst.AsSpan(y * stride, stride);
            var prev = y > 0 ? dst.AsSpan((y - 1) * stride, stride) : Span<byte>.Empty;
            switch (filter)
            {
                case 0: src.CopyTo(cur); break;
                case 1:
                    for (var i = 0; i < stride; i++) cur[i] = (byte)(src[i] + (i >= bpp ? cur[i - bpp] : 0));
                    break;
                case 2:
                    for (var i = 0; i < stride; i++) cur[i] = (byte)(src[i] + (y > 0 ? prev[i] : 0));
                    break;
                case 3:
                    for (var i = 0; i < stride; i++)
                    {
                        int a = i >= bpp ? cur[i - bpp] : 0, b = y > 0 ? prev[i] : 0;
                        cur[i] = (byte)(src[i] + ((a + b) >> 1));
                    }
                    break;
                case 4:
                    for (var i = 0; i < stride; i++)
                    {
                        int a = i >= bpp ? cur[i - bpp] : 0, b = y > 0 ? prev[i] : 0, c = i >= bpp && y > 0 ? prev[i - bpp] : 0;
                        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                        cur[i] = (byte)(src[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c));
                    }
                    break;
                default:
                    throw new ImagingException(ImagingError.Inconsistent, $"{name}: unknown PNG filter type {filter}.");
            }
        }
    }
}
