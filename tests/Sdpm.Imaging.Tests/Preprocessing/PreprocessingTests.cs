using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Preprocessing;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Preprocessing;

public class HeadMaskTests
{
    [Fact]
    public void KeepsTheHeadFillsHolesAndDropsTheHeadRest()
    {
        var c = CohortGenerator.GenerateCase(new CohortOptions(1, 1, 11, LesionMode.Infarct, Size: 128, Slices: 12, LesionFreeFraction: 0), 0);
        var mask = HeadMask.Compute(c.Image);
        var v = c.Image;
        int head = 0, air = 0, rest = 0, ventricleOrCsfInside = 0;
        for (var i = 0; i < v.Voxels.Length; i++)
        {
            if (v.Voxels[i] > 300) head += mask.Voxels[i]; // bone is inside the head mask
            if (v.Voxels[i] < -900) air += mask.Voxels[i];
        }
        // The head rest sits behind the head (last rows), separated by air: not part of the mask.
        var mid = v.Dims.Z / 2;
        for (var y = v.Dims.Y - 12; y < v.Dims.Y; y++)
            for (var x = 0; x < v.Dims.X; x++)
                if (v[x, y, mid] > 100) rest += 1 - mask[x, y, mid];
        // Fluid (0..20 HU) in the middle of the brain is a hole of the threshold... it must be filled.
        for (var i = 0; i < v.Voxels.Length; i++)
            if (v.Voxels[i] is > -50 and < 20 && mask.Voxels[i] == 1) ventricleOrCsfInside++;
        Assert.True(head > 1000);
        Assert.Equal(0, air);
        Assert.True(rest > 0, "the head rest should be visible in the image and excluded from the mask");
        Assert.True(ventricleOrCsfInside > 0);
        var brainOnly = HeadMask.Compute(c.Image, new HeadMaskOptions(ExcludeAboveHu: 200));
        Assert.True(MaskVolume.CountVoxels(brainOnly) < MaskVolume.CountVoxels(mask));
    }

    [Fact]
    public void TheBoneMarginAlsoRemovesThePixelsBesideBoneInPlaneOnly()
    {
        // A 21x21x3 block of brain (30 HU) with one bone column (1000 HU) at x = 10, y = 10 through every slice.
        var v = new Volume<short>(new Dims(21, 21, 3), Affine.Identity, Enumerable.Repeat((short)30, 21 * 21 * 3).ToArray());
        for (var z = 0; z < 3; z++) v[10, 10, z] = 1000;
        var none = HeadMask.Compute(v, new HeadMaskOptions(ExcludeAboveHu: 200));
        var two = HeadMask.Compute(v, new HeadMaskOptions(ExcludeAboveHu: 200, ExcludeMargin: 2));
        Assert.Equal((21 * 21 * 3) - 3, MaskVolume.CountVoxels(none));
        Assert.Equal((21 * 21 * 3) - (25 * 3), MaskVolume.CountVoxels(two)); // a 5x5 square per slice
        Assert.Equal(0, two[12, 8, 1]);
        Assert.Equal(1, two[13, 10, 1]);
        Assert.Equal(1, two[7, 10, 0]);
    }

    [Fact]
    public void FillsAnEnclosedAirPocketOnlyWhenAskedTo()
    {
        var c = CohortGenerator.GenerateCase(new CohortOptions(1, 1, 11, LesionMode.Infarct, Size: 128, Slices: 12, LesionFreeFraction: 0), 0);
        var v = c.Image.Clone();
        // A sinus-like air pocket in the middle of the head, enclosed by tissue in every slice it spans.
        var (cx, cy) = (v.Dims.X / 2, v.Dims.Y / 2);
        var pocket = new List<(int X, int Y, int Z)>();
        for (var z = 5; z <= 6; z++)
            for (var y = cy - 4; y <= cy + 4; y++)
                for (var x = cx - 4; x <= cx + 4; x++)
                {
                    v[x, y, z] = -1000;
                    pocket.Add((x, y, z));
                }
        var filled = HeadMask.Compute(v);
        var open = HeadMask.Compute(v, new HeadMaskOptions(FillHoles: false));
        Assert.All(pocket, p => Assert.Equal(1, filled[p.X, p.Y, p.Z]));
        Assert.All(pocket, p => Assert.Equal(0, open[p.X, p.Y, p.Z]));
        Assert.Equal(MaskVolume.CountVoxels(open) + pocket.Count, MaskVolume.CountVoxels(filled));
    }

    [Fact]
    public void FillsAnEnclosedHoleButNotAnOpenBay()
    {
        // 7x7 ring with a hole in the middle, and a gap to the border elsewhere
        var s = new byte[7 * 7];
        for (var y = 1; y < 6; y++)
            for (var x = 1; x < 6; x++) s[y * 7 + x] = 1;
        s[3 * 7 + 3] = 0; // hole
        s[1 * 7 + 3] = 0; // bay open to the top border
        s[0 * 7 + 3] = 0;
        HeadMask.FillSliceHoles(s, 7, 7);
        Assert.Equal(1, s[3 * 7 + 3]);
        Assert.Equal(0, s[1 * 7 + 3]);
    }
}

public class ResampleTests
{
    [Fact]
    public void LinearResamplingKeepsConstantsAndTheFieldOfView()
    {
        var v = new Volume<short>(new Dims(100, 80, 3), Affine.Canonical(new Spacing(0.5, 0.6, 5), 10, 20, 30));
        Array.Fill(v.Voxels, (short)37);
        var r = Resample.InPlaneLinear(v, 64, 64);
        Assert.Equal(new Dims(64, 64, 3), r.Dims);
        Assert.All(r.Voxels, x => Assert.Equal(37, x));
        Assert.Equal(100 * 0.5 / 64, r.Spacing.X, 9);
        Assert.Equal(80 * 0.6 / 64, r.Spacing.Y, 9);
        // The outer edge of the field of view stays where it was.
        var edgeOld = v.Affine.Transform(-0.5, -0.5, 0);
        var edgeNew = r.Affine.Transform(-0.5, -0.5, 0);
        Assert.Equal(edgeOld.X, edgeNew.X, 9);
        Assert.Equal(edgeOld.Y, edgeNew.Y, 9);
    }

    [Fact]
    public void LinearResamplingInterpolatesARamp()
    {
        var v = new Volume<float>(new Dims(4, 1, 1), Affine.Identity);
        v.Voxels[0] = 0; v.Voxels[1] = 10; v.Voxels[2] = 20; v.Voxels[3] = 30;
        var r = Resample.InPlaneLinear(v, 8, 1);
        Assert.Equal(0, r.Voxels[0], 5); // clamped at the edge
        Assert.Equal(2.5, r.Voxels[1], 5); // old index 0.25
        Assert.Equal(27.5, r.Voxels[6], 5);
    }

    [Fact]
    public void NearestResamplingKeepsMaskLabelsAndAlignment()
    {
        var m = new Volume<byte>(new Dims(256, 256, 2), Affine.Canonical(new Spacing(1, 1, 5)));
        for (var y = 100; y < 140; y++)
            for (var x = 60; x < 100; x++) m[x, y, 1] = 1;
        var r = Resample.InPlaneNearest(m, 128, 128);
        Assert.All(r.Voxels, x => Assert.True(x is 0 or 1));
        Assert.Equal(20 * 20, r.Slice(1).ToArray().Count(x => x == 1));
        Assert.Equal(MaskVolume.VolumeMl(m), MaskVolume.VolumeMl(r), 6);
        Assert.Equal(1, r[40, 60, 1]);
        Assert.Equal(0, r[29, 60, 1]);
    }
}
