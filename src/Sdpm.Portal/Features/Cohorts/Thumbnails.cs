using Sdpm.Imaging.Display;
using Sdpm.Imaging.Png;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Small previews of a case for lists: the middle slice in the brain window, at most 128 pixels a side.</summary>
public static class Thumbnails
{
    public const int MaxSide = 128;

    public static byte[] Render(Volume<short> volume)
    {
        var z = volume.Dims.Z / 2;
        var grey = SliceRenderer.ToGray8(volume, z, WindowPresets.Brain);
        int w = volume.Dims.X, h = volume.Dims.Y;
        var factor = Math.Max(1, (int)Math.Ceiling(Math.Max(w, h) / (double)MaxSide));
        if (factor == 1) return PngEncoder.EncodeGray8(grey, w, h);
        int tw = w / factor, th = h / factor;
        var small = new byte[tw * th];
        for (var ty = 0; ty < th; ty++)
        {
            for (var tx = 0; tx < tw; tx++)
            {
                var sum = 0;
                for (var dy = 0; dy < factor; dy++)
                {
                    var row = ((ty * factor) + dy) * w;
                    for (var dx = 0; dx < factor; dx++) sum += grey[row + (tx * factor) + dx];
                }
                small[(ty * tw) + tx] = (byte)(sum / (factor * factor));
            }
        }
        return PngEncoder.EncodeGray8(small, tw, th);
    }
}
