using System.IO.Compression;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Tests.Dicom;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>Files that coordinators upload, made on the fly in a temporary folder: synthetic NIfTI cases with masks,
/// DICOM series (with or without identifying attributes), zips of them.</summary>
public sealed class TestCases : IDisposable
{
    public TestCases() => Folder = Directory.CreateTempSubdirectory("sdpm-portal-cases-").FullName;

    public string Folder { get; }

    /// <summary>Synthetic 64x64x6 cases (seeded), as generated: image, mask and lesion.</summary>
    public static SyntheticCase Case(int index, ulong seed = 5) =>
        CohortGenerator.GenerateCase(new CohortOptions(8, 1, seed, LesionMode.Mixed, Size: 64, Slices: 6, LesionFreeFraction: 0.25), index);

    public string Path(string relative)
    {
        var full = System.IO.Path.Combine(Folder, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return full;
    }

    /// <summary>Writes case i as NAME.nii.gz (+ NAME_mask.nii.gz) under a sub-folder; returns the image path.</summary>
    public string WriteNifti(string relativeDir, string name, SyntheticCase c, bool withMask = true)
    {
        var image = Path($"{relativeDir}/{name}.nii.gz");
        NiftiWriter.Write(image, c.Image, new NiftiWriteOptions(Description: "test"));
        if (withMask)
        {
            MaskVolume.WriteNifti(Path($"{relativeDir}/{name}_mask.nii.gz"), c.Mask, c.Image.Geometry);
        }
        return image;
    }

    /// <summary>Zips a folder of this instance (entry names relative to it).</summary>
    public string Zip(string relativeDir, string zipName)
    {
        var zip = Path(zipName);
        if (File.Exists(zip)) File.Delete(zip);
        ZipFile.CreateFromDirectory(Path(relativeDir), zip);
        return zip;
    }

    /// <summary>A DICOM series of 4x5 slices; with <paramref name="identifying"/> it carries a patient name, ID and birth date.</summary>
    public string WriteDicomSeries(string relativeDir, int slices = 6, bool identifying = false, string seriesUid = "1.2.826.0.1.3680043.99.1")
    {
        var dir = Path($"{relativeDir}/.keep");
        dir = System.IO.Path.GetDirectoryName(dir)!;
        DicomTestWriter.WriteSeries(dir, DicomTestWriter.Axial(slices, tweak: (k, s) => s with
        {
            SeriesUid = seriesUid,
            SopInstanceUid = $"{seriesUid}.{k + 1}",
            Extra = identifying
                ? new() { [(0x0010, 0x0010)] = ("PN", PatientName), [(0x0010, 0x0020)] = ("LO", "MRN-998877"), [(0x0010, 0x0030)] = ("DA", "19500101") }
                : new(),
        }));
        return dir;
    }

    public const string PatientName = "Doe^Johnathan";

    /// <summary>A 4D NIfTI (two volumes), which the portal refuses.</summary>
    public string Write4D(string name)
    {
        var c = Case(0);
        var file = Path(name);
        using (var ms = new MemoryStream())
        {
            NiftiWriter.Write(ms, c.Image, gzip: false);
            var bytes = ms.ToArray();
            // dim[0] = 4 and dim[4] = 2 at offsets 40 and 48 of a NIfTI-1 header; the voxels are repeated.
            BitConverter.GetBytes((short)4).CopyTo(bytes, 40);
            BitConverter.GetBytes((short)2).CopyTo(bytes, 48);
            var voxels = bytes.AsSpan(352).ToArray();
            File.WriteAllBytes(file, [.. bytes, .. voxels]);
        }
        return file;
    }

    /// <summary>Volumes compared voxel by voxel in canonical orientation.</summary>
    public static Volume<short> Canonical(Volume<short> v) => Orientation.ToCanonical(v);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
