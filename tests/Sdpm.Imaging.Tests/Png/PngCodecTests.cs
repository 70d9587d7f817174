using Sdpm.Imaging.Png;
using Sdpm.Imaging.Tests.Support;

namespace Sdpm.Imaging.Tests.Png;

public class PngCodecTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void EncodeDecodeRoundTrips(int channels)
    {
        var w = 37;
        var h = 23;
        var px = new byte[w * h * channels];
        new Random(5).NextBytes(px);
        var png = channels switch { 1 => PngEncoder.EncodeGray8(px, w, h), 3 => PngEncoder.EncodeRgb8(px, w, h), _ => PngEncoder.EncodeRgba8(px, w, h) };
        var back = PngDecoder.Decode(png);
        Assert.Equal((w, h, channels), (back.Width, back.Height, back.Channels));
        Assert.Equal(px, back.Pixels);
    }

    [Fact]
    public void DecodesEveryFilterTypeWrittenByPillow()
    {
        using var dir = new TempDir();
        // Pillow picks filters adaptively (optimize) and writes grey, RGB and RGBA images.
        Python.Run("""
import sys, os, numpy as np
from PIL import Image
rng = np.random.default_rng(1)
yy, xx = np.mgrid[0:40, 0:50]
g = ((xx * 3 + yy * 5) % 256).astype('uint8'); g[10:20, 10:20] = rng.integers(0, 255, (10, 10))
Image.fromarray(g, 'L').save(os.path.join(sys.argv[1], 'g.png'), optimize=True)
rgb = np.stack([g, 255 - g, (g // 2)], -1).astype('uint8')
Image.fromarray(rgb, 'RGB').save(os.path.join(sys.argv[1], 'rgb.png'), optimize=True)
Image.fromarray(np.dstack([rgb, g]), 'RGBA').save(os.path.join(sys.argv[1], 'rgba.png'))
Image.fromarray(g, 'L').convert('1').save(os.path.join(sys.argv[1], 'bilevel.png'))
g.tofile(os.path.join(sys.argv[1], 'g.raw'))
""", dir.Path);
        var expected = File.ReadAllBytes(dir.File("g.raw"));
        Assert.Equal(expected, PngDecoder.Decode(File.ReadAllBytes(dir.File("g.png"))).Pixels);
        var rgb = PngDecoder.Decode(File.ReadAllBytes(dir.File("rgb.png")));
        Assert.Equal(3, rgb.Channels);
        Assert.Equal(expected[123], rgb.Pixels[123 * 3]);
        Assert.Equal(255 - expected[123], rgb.Pixels[123 * 3 + 1]);
        var rgba = PngDecoder.Decode(File.ReadAllBytes(dir.File("rgba.png")));
        Assert.Equal(expected[77], rgba.Pixels[77 * 4 + 3]);
        var e = Assert.Throws<ImagingException>(() => PngDecoder.Decode(File.ReadAllBytes(dir.File("bilevel.png"))));
        Assert.Contains("bit depth 1", e.Message);
    }

    [Fact]
    public void PillowReadsOurPngs()
    {
        using var dir = new TempDir();
        var px = new byte[64 * 32];
        for (var i = 0; i < px.Length; i++) px[i] = (byte)(i * 7);
        File.WriteAllBytes(dir.File("ours.png"), PngEncoder.EncodeGray8(px, 64, 32));
        var sum = Python.Run("""
import sys, numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]))
print(a.shape[0], a.shape[1], int(a.astype('int64').sum()))
""", dir.File("ours.png")).Trim();
        Assert.Equal($"32 64 {px.Sum(b => (long)b)}", sum);
    }

    [Fact]
    public void CorruptPngIsRefused()
    {
        var png = PngEncoder.EncodeGray8(new byte[100], 10, 10);
        png[40] ^= 0xFF;
        Assert.Throws<ImagingException>(() => PngDecoder.Decode(png));
        Assert.Throws<ImagingException>(() => PngDecoder.Decode(png.AsSpan(0, 30)));
    }
}
