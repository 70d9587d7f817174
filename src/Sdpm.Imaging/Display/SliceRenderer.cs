using Sdpm.Imaging.Png;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Display;

/// <summary>Turns axial slices into 8-bit grey pixels and PNG images through a window.</summary>
/// <remarks>Canonical volumes need no flipping: row 0 is anterior and column 0 the patient's right, so the
/// output is in the radiological view.</remarks>
public static class SliceRenderer
{
    /// <summary>Maps HU values to grey 0..255 through a window.</summary>
    public static void ToGray8(ReadOnlySpan<short> hu, Window window, Span<byte> destination)
    {
        if (destination.Length < hu.Length) throw new ArgumentException("The destination is smaller than the slice.", nameof(destination));
        CheckWindow(window);
        var lower = (float)window.Lower;
        var scale = (float)(255.0 / window.Width);
        for (var i = 0; i < hu.Length; i++)
        {
            var v = (hu[i] - lower) * scale + 0.5f;
            destination[i] = v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
        }
    }

    /// <summary>Maps float values (probability maps, float images) to grey 0..255 through a window.</summary>
    public static void ToGray8(ReadOnlySpan<float> values, Window window, Span<byte> destination)
    {
        if (destination.Length < values.Length) throw new ArgumentException("The destination is smaller than the slice.", nameof(destination));
        CheckWindow(window);
        var lower = (float)window.Lower;
        var scale = (float)(255.0 / window.Width);
        for (var i = 0; i < values.Length; i++)
        {
            var v = (values[i] - lower) * scale + 0.5f;
            destination[i] = v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
        }
    }

    // default(Window) skips the validating constructor and has width 0.
    private static void CheckWindow(Window window)
    {
        if (!(window.Width > 0) || !double.IsFinite(window.Level))
            throw new ArgumentException("The window needs a positive width (default(Window) is not a window).", nameof(window));
    }

    /// <summary>Slice z of a volume as grey bytes (X*Y, row-major).</summary>
    public static byte[] ToGray8(Volume<short> volume, int z, Window window)
    {
        var grey = new byte[volume.Dims.SliceLength];
        ToGray8(volume.Slice(z), window, grey);
        return grey;
    }

    /// <summary>Slice z of a volume as a grey PNG.</summary>
    public static byte[] RenderPng(Volume<short> volume, int z, Window window) =>
        PngEncoder.EncodeGray8(ToGray8(volume, z, window), volume.Dims.X, volume.Dims.Y);

    /// <summary>Several slices side by side as one grey PNG (contact sheet), for a quick look at a case.</summary>
    public static byte[] RenderMontage(Volume<short> volume, IReadOnlyList<int> slices, Window window, Volume<byte>? mask = null, double opacity = 0.4)
    {
        if (slices.Count == 0) throw new ArgumentException("No slices to render.", nameof(slices));
        int w = volume.Dims.X, h = volume.Dims.Y, n = slices.Count;
        var rgb = new byte[w * n * h * 3];
        for (var s = 0; s < n; s++)
        {
            var grey = ToGray8(volume, slices[s], window);
            var tile = mask is null ? Overlay.GrayToRgb(grey) : Overlay.CompositeMask(grey, mask.Slice(slices[s]), OverlayColor.Red, opacity);
            for (var y = 0; y < h; y++)
                tile.AsSpan(y * w * 3, w * 3).CopyTo(rgb.AsSpan((y * w * n + s * w) * 3, w * 3));
        }
        return PngEncoder.EncodeRgb8(rgb, w * n, h);
    }
}
