using Sdpm.Imaging.Png;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Display;

/// <summary>An RGB colour for overlays.</summary>
public readonly record struct OverlayColor(byte R, byte G, byte B)
{
    public static OverlayColor Red { get; } = new(255, 40, 40);
    public static OverlayColor Green { get; } = new(40, 220, 60);
    public static OverlayColor Yellow { get; } = new(255, 220, 0);
    public static OverlayColor Cyan { get; } = new(0, 220, 255);
}

/// <summary>Masks and probability maps drawn over grey slices, or as RGBA layers for a browser canvas.</summary>
public static class Overlay
{
    /// <summary>Grey to RGB (each grey value repeated three times).</summary>
    public static byte[] GrayToRgb(ReadOnlySpan<byte> grey)
    {
        var rgb = new byte[grey.Length * 3];
        for (var i = 0; i < grey.Length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
        return rgb;
    }

    /// <summary>Blends a colour over the grey pixels where the mask is non-zero; opacity 0..1.</summary>
    public static byte[] CompositeMask(ReadOnlySpan<byte> grey, ReadOnlySpan<byte> mask, OverlayColor color, double opacity)
    {
        CheckSizes(grey.Length, mask.Length);
        var a = (int)Math.Round(Math.Clamp(opacity, 0, 1) * 256);
        var rgb = GrayToRgb(grey);
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            var g = grey[i];
            rgb[3 * i] = (byte)(g + ((color.R - g) * a >> 8));
            rgb[3 * i + 1] = (byte)(g + ((color.G - g) * a >> 8));
            rgb[3 * i + 2] = (byte)(g + ((color.B - g) * a >> 8));
        }
        return rgb;
    }

    /// <summary>Blends a heat colour (red at 0.5 to yellow at 1) over the grey pixels, weighted by probability;
    /// pixels below <paramref name="threshold"/> stay grey.</summary>
    public static byte[] CompositeProbability(ReadOnlySpan<byte> grey, ReadOnlySpan<float> probability, double opacity, double threshold = 0.05)
    {
        CheckSizes(grey.Length, probability.Length);
        var rgb = GrayToRgb(grey);
        var op = Math.Clamp(opacity, 0, 1);
        for (var i = 0; i < probability.Length; i++)
        {
            var p = Math.Clamp(probability[i], 0f, 1f);
            if (p < threshold) continue;
            var (r, gg, b) = Heat(p);
            var a = op * p;
            var g = grey[i];
            rgb[3 * i] = (byte)(g + (r - g) * a + 0.5);
            rgb[3 * i + 1] = (byte)(g + (gg - g) * a + 0.5);
            rgb[3 * i + 2] = (byte)(g + (b - g) * a + 0.5);
        }
        return rgb;
    }

    /// <summary>An RGBA layer: the colour with alpha = opacity where the mask is set, transparent elsewhere.</summary>
    public static byte[] MaskLayerRgba(ReadOnlySpan<byte> mask, OverlayColor color, double opacity)
    {
        var alpha = (byte)Math.Round(Math.Clamp(opacity, 0, 1) * 255);
        var rgba = new byte[mask.Length * 4];
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            rgba[4 * i] = color.R;
            rgba[4 * i + 1] = color.G;
            rgba[4 * i + 2] = color.B;
            rgba[4 * i + 3] = alpha;
        }
        return rgba;
    }

    /// <summary>Slice z with a mask overlay, as an RGB PNG.</summary>
    public static byte[] RenderPng(Volume<short> volume, int z, Window window, Volume<byte> mask, OverlayColor color, double opacity)
    {
        CheckGrid(volume.Dims, mask.Dims);
        var grey = SliceRenderer.ToGray8(volume, z, window);
        return PngEncoder.EncodeRgb8(CompositeMask(grey, mask.Slice(z), color, opacity), volume.Dims.X, volume.Dims.Y);
    }

    /// <summary>Slice z with a probability-map overlay, as an RGB PNG.</summary>
    public static byte[] RenderPng(Volume<short> volume, int z, Window window, Volume<float> probability, double opacity)
    {
        CheckGrid(volume.Dims, probability.Dims);
        var grey = SliceRenderer.ToGray8(volume, z, window);
        return PngEncoder.EncodeRgb8(CompositeProbability(grey, probability.Slice(z), opacity), volume.Dims.X, volume.Dims.Y);
    }

    private static (double R, double G, double B) Heat(double p)
    {
        // 0..0.5: dark red to red, 0.5..1: red to yellow.
        return p < 0.5 ? (128 + 254 * p, 0, 0) : (255, (p - 0.5) * 2 * 255, 0);
    }

    private static void CheckSizes(int a, int b)
    {
        if (a != b) throw new ArgumentException($"The overlay has {b} pixels but the slice {a}.");
    }

    private static void CheckGrid(Dims a, Dims b)
    {
        if (a != b) throw new ArgumentException($"The overlay grid {b} differs from the volume grid {a}.");
    }
}
