using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Volumes;

public class VolumeStoreTests
{
    [Fact]
    public void RoundTripsVolumesMasksAndProbabilityMaps()
    {
        using var dir = new TempDir();
        var v = TestVolumes.Ramp();
        VolumeStore.Write(dir.File("ct.vol"), v);
        var back = VolumeStore.ReadVolume<short>(dir.File("ct.vol"));
        Assert.Equal(v.Voxels, back.Voxels);
        Assert.Equal(v.Affine, back.Affine);
        var header = VolumeStore.ReadHeader(dir.File("ct.vol"));
        Assert.Equal(v.Dims, header.Dims);
        Assert.Equal(v.Spacing, header.Spacing);
        Assert.Equal(VolumeStore.HeaderSize + v.Voxels.Length * 2L, new FileInfo(dir.File("ct.vol")).Length);

        var mask = new Volume<byte>(v.Geometry);
        mask[2, 3, 1] = 1;
        VolumeStore.Write(dir.File("m.vol"), mask);
        Assert.Equal(mask.Voxels, VolumeStore.ReadVolume<byte>(dir.File("m.vol")).Voxels);
        var p = new Volume<float>(v.Geometry);
        p[0, 0, 3] = 0.75f;
        VolumeStore.Write(dir.File("p.vol"), p);
        Assert.Equal(0.75f, VolumeStore.ReadVolume<float>(dir.File("p.vol"))[0, 0, 3]);
        Assert.Throws<ImagingException>(() => VolumeStore.ReadVolume<short>(dir.File("m.vol")));
        Assert.Equal(3, Directory.GetFiles(dir.Path).Length); // no temporary files left
    }

    [Fact]
    public void ReadsOneSliceWithoutTheRestOfTheFile()
    {
        using var dir = new TempDir();
        var v = TestVolumes.Ramp();
        VolumeStore.Write(dir.File("ct.vol"), v);
        for (var z = 0; z < v.Dims.Z; z++)
            Assert.Equal(v.Slice(z).ToArray(), VolumeStore.ReadSlice<short>(dir.File("ct.vol"), z));

        // Cut the file after slice 1: slices 0 and 1 still read, as they never touch the rest.
        var bytes = File.ReadAllBytes(dir.File("ct.vol"));
        File.WriteAllBytes(dir.File("cut.vol"), bytes[..(VolumeStore.HeaderSize + 2 * v.Dims.SliceLength * 2)]);
        Assert.Equal(v.Slice(1).ToArray(), VolumeStore.ReadSlice<short>(dir.File("cut.vol"), 1));
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => VolumeStore.ReadSlice<short>(dir.File("cut.vol"), 2)).Error);
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => VolumeStore.ReadVolume<short>(dir.File("cut.vol"))).Error);
        Assert.Throws<ArgumentOutOfRangeException>(() => VolumeStore.ReadSlice<short>(dir.File("ct.vol"), v.Dims.Z));
    }

    [Fact]
    public void OtherFilesAreRefused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("x.vol"), new byte[300]);
        Assert.Equal(ImagingError.UnknownFormat, Assert.Throws<ImagingException>(() => VolumeStore.ReadHeader(dir.File("x.vol"))).Error);
        File.WriteAllBytes(dir.File("short.vol"), new byte[10]);
        Assert.Equal(ImagingError.Truncated, Assert.Throws<ImagingException>(() => VolumeStore.ReadHeader(dir.File("short.vol"))).Error);
    }
}
