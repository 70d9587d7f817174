using Sdpm.Imaging.Display;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Png;
using Sdpm.Imaging.PngStack;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.PngStack;

public class PngStackTests
{
    // AISD layout: image/CASE/N.png and mask/CASE/N.png, slices numbered 1..N (not zero-padded).
    private static (string Image, string Mask) WriteAisdCase(TempDir dir, int slices = 12, int w = 8, int h = 6)
    {
        var image = dir.Dir("image/0091538");
        var mask = dir.Dir("mask/0091538");
        for (var k = 0; k < slices; k++)
        {
            var g = new byte[w * h];
            var m = new byte[w * h];
            for (var i = 0; i < g.Length; i++) g[i] = (byte)(k * 20 + i % w);
            m[k % g.Length] = 255;
            File.WriteAllBytes(Path.Combine(image, $"{k + 1}.png"), PngEncoder.EncodeGray8(g, w, h));
            File.WriteAllBytes(Path.Combine(mask, $"{k + 1}.png"), PngEncoder.EncodeGray8(m, w, h));
        }
        return (image, mask);
    }

    [Fact]
    public void ReadsSlicesInNumericOrderWithTheStatedWindowAndSpacing()
    {
        using var dir = new TempDir();
        var (image, mask) = WriteAisdCase(dir);
        var window = new Window(40, 80);
        var stack = PngStackReader.Read(image, mask, window, new Spacing(0.45, 0.45, 5));
        Assert.Equal(new Dims(8, 6, 12), stack.Hu.Dims);
        Assert.Equal(new Spacing(0.45, 0.45, 5), stack.Hu.Spacing);
        Assert.Equal("LPS", Orientation.AxisCodes(stack.Hu.Affine));
        // slice 10 (file 11.png) must come after 9 (10.png): numeric, not text order
        Assert.Equal((short)Math.Round(window.Unmap(200 + 3)), stack.Hu[3, 0, 10]);
        Assert.Equal(0, stack.Hu[0, 0, 0]); // grey 0 = level - width/2 = 0 HU
        Assert.NotNull(stack.Mask);
        Assert.Equal(1, stack.Mask![10 % 8, 10 / 8, 10]);
        Assert.Equal(12, stack.Mask.Voxels.Count(v => v == 1));
    }

    [Fact]
    public void ImporterFindsTheMatchingMaskFolderAndNotesAssumptions()
    {
        using var dir = new TempDir();
        var (image, _) = WriteAisdCase(dir);
        var v = VolumeImporter.Open(image);
        Assert.Equal("png-stack", v.Format);
        Assert.NotNull(v.Mask);
        Assert.Contains(v.Notes, n => n.Contains("window not stated"));
        var stated = VolumeImporter.Open(image, options: new ImportOptions(WindowPresets.Stroke, new Spacing(0.5, 0.5, 5)));
        Assert.DoesNotContain(stated.Notes, n => n.Contains("not stated"));
        Assert.Equal(28, stated.Hu[0, 0, 0]); // stroke window: grey 0 = 32 - 4
    }

    [Fact]
    public void SliceOfAnotherSizeIsRefused()
    {
        using var dir = new TempDir();
        var (image, _) = WriteAisdCase(dir, slices: 3);
        File.WriteAllBytes(Path.Combine(image, "4.png"), PngEncoder.EncodeGray8(new byte[16], 4, 4));
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(image));
        Assert.Equal(ImagingError.Inconsistent, e.Error);
    }
}
