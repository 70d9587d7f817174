using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Masks;

public class RunLengthMaskTests
{
    [Fact]
    public void SliceRunsStartWithBackgroundAndSumToTheSliceLength()
    {
        byte[] s = [1, 1, 0, 0, 0, 1, 0];
        var runs = RunLengthMask.EncodeSlice(s);
        Assert.Equal([0, 2, 3, 1, 1], runs);
        var back = new byte[s.Length];
        RunLengthMask.DecodeSlice(runs, back);
        Assert.Equal(s, back);
        Assert.Equal("0,2,3,1,1", RunLengthMask.EncodeSliceText(s));
        Assert.Equal([7], RunLengthMask.EncodeSlice(new byte[7]));
    }

    [Fact]
    public void VolumeRoundTripsAndIsCompact()
    {
        var geometry = new VolumeGeometry(new Dims(512, 512, 40), Affine.Canonical(new Spacing(0.5, 0.5, 5)));
        var mask = new Volume<byte>(geometry);
        var rng = new Random(3);
        for (var z = 10; z < 20; z++)
            for (var y = 200; y < 260; y++)
                for (var x = 100 + rng.Next(5); x < 170; x++) mask[x, y, z] = 1;
        var data = RunLengthMask.Encode(mask);
        Assert.True(data.Length < 5000, $"{data.Length} bytes");
        var back = RunLengthMask.Decode(data, geometry);
        Assert.Equal(mask.Voxels, back.Voxels);
    }

    [Fact]
    public void BadRunsAreRefused()
    {
        var slice = new byte[10];
        Assert.Throws<ImagingException>(() => RunLengthMask.DecodeSlice([3, 4], slice));
        Assert.Throws<ImagingException>(() => RunLengthMask.DecodeSlice([3, 9], slice));
        Assert.Throws<ImagingException>(() => RunLengthMask.DecodeSliceText("3,x", slice));
        var geometry = new VolumeGeometry(new Dims(4, 4, 2), Affine.Identity);
        var data = RunLengthMask.Encode(new Volume<byte>(geometry));
        Assert.Throws<ImagingException>(() => RunLengthMask.Decode(data.AsSpan(0, data.Length - 1), geometry));
        Assert.Throws<ImagingException>(() => RunLengthMask.Decode(data, geometry with { Dims = new Dims(4, 4, 3) }));
    }
}

public class MaskVolumeTests
{
    [Fact]
    public void VolumeInMillilitresComesFromTheSpacing()
    {
        var mask = new Volume<byte>(new Dims(10, 10, 10), Affine.Canonical(new Spacing(0.5, 0.5, 5)));
        for (var i = 0; i < 800; i++) mask.Voxels[i] = 1;
        Assert.Equal(800 * 1.25 / 1000, MaskVolume.VolumeMl(mask), 9);
    }

    [Fact]
    public void MasksAndProbabilityMapsAreWrittenOnTheSourceGrid()
    {
        using var dir = new TempDir();
        var source = TestVolumes.Ramp();
        var mask = new Volume<byte>(source.Geometry);
        mask[2, 3, 1] = 1;
        MaskVolume.WriteNifti(dir.File("m.nii.gz"), mask, source.Geometry);
        var back = NiftiReader.Read(dir.File("m.nii.gz"));
        Assert.True(back.Affine.ApproximatelyEquals(source.Affine, 1e-5));
        Assert.Equal(1, back.ToMask()[2, 3, 1]);
        var p = new Volume<float>(source.Geometry);
        p[1, 1, 1] = 0.75f;
        MaskVolume.WriteProbabilityNifti(dir.File("p.nii.gz"), p, source.Geometry);
        Assert.Equal(0.75f, NiftiReader.ReadFloat(dir.File("p.nii.gz"))[1, 1, 1]);

        var wrong = new Volume<byte>(new Dims(3, 3, 3), source.Affine);
        Assert.Throws<ImagingException>(() => MaskVolume.WriteNifti(dir.File("w.nii.gz"), wrong, source.Geometry));
        Assert.False(File.Exists(dir.File("w.nii.gz")));
    }

    [Fact]
    public void CanonicalMaskCanBeWrittenBackOnTheOriginalGrid()
    {
        var original = Orientation.Reorient(TestVolumes.Ramp(), "RAS");
        var canonical = Orientation.ToCanonical(original);
        var mask = new Volume<byte>(canonical.Geometry);
        mask[0, 0, 0] = 1;
        var onOriginal = Orientation.ReorientTo(mask, original.Geometry);
        Assert.True(onOriginal.Geometry.Matches(original.Geometry));
        Assert.Equal(1, onOriginal[original.Dims.X - 1, original.Dims.Y - 1, 0]);
    }
}
