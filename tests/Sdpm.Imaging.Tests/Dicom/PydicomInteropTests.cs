using System.Text.Json;
using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Dicom;

/// <summary>Cross-checks with pydicom (an independent reader and writer) and dcm2niix for compressed series.</summary>
public class PydicomInteropTests
{
    [Theory]
    [InlineData(DicomTestWriter.Implicit)]
    [InlineData(DicomTestWriter.Explicit)]
    public void PydicomReadsOurTestFilesTheSameWay(string ts)
    {
        using var dir = new TempDir();
        var path = DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(1, ts: ts))[0];
        var json = Python.Run("""
import sys, json, pydicom
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array
print(json.dumps(dict(ts=str(ds.file_meta.TransferSyntaxUID), rows=int(ds.Rows), cols=int(ds.Columns),
    v=int(a[2,3]), ipp=[float(x) for x in ds.ImagePositionPatient], slope=float(ds.RescaleSlope))))
""", path);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.Equal(ts, r.GetProperty("ts").GetString());
        Assert.Equal(4, r.GetProperty("rows").GetInt32());
        Assert.Equal(1000 + 10 * 2 + 3, r.GetProperty("v").GetInt32());
        Assert.Equal(-30, r.GetProperty("ipp")[2].GetDouble());
    }

    [Fact]
    public void ReadsASeriesWrittenByPydicom()
    {
        using var dir = new TempDir();
        Python.Run(SeriesScript, dir.Path, "implicit");
        var v = VolumeImporter.Open(dir.Path);
        AssertPydicomSeries(v);
    }

    [Fact]
    public void ConvertsACompressedSeriesWithDcm2Niix()
    {
        Assert.True(File.Exists("/usr/bin/dcm2niix"), "dcm2niix is missing: apt-get install dcm2niix");
        using var dir = new TempDir();
        Python.Run(SeriesScript, dir.Path, "rle");
        var v = VolumeImporter.Open(dir.Path);
        Assert.Contains(v.Notes, n => n.Contains("RLE Lossless") && n.Contains("dcm2niix"));
        AssertPydicomSeries(v);
    }

    [Fact]
    public void CompressedSeriesIsRefusedWhenDcm2NiixIsUnavailable()
    {
        using var dir = new TempDir();
        Python.Run(SeriesScript, dir.Path, "rle");
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.Path, options: new ImportOptions(Dcm2NiixPath: "/nonexistent/dcm2niix")));
        Assert.Contains("RLE Lossless", e.Message);
    }

    // Three 6x5 slices, 3 mm apart, value = 100*k + 10*r + c - 50 in HU (stored value + intercept -1024).
    private const string SeriesScript = """
import sys, os, numpy as np, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian, RLELossless, generate_uid
out, mode = sys.argv[1], sys.argv[2]
series = generate_uid()
for k in range(3):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds = Dataset(); ds.file_meta = meta
    ds.is_little_endian = True; ds.is_implicit_VR = True
    ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = 'CT'; ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = series
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [0, 0, 3.0 * k]; ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]; ds.SliceThickness = 3
    ds.Rows, ds.Columns = 5, 6
    ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15; ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024; ds.RescaleSlope = 1
    r, c = np.meshgrid(np.arange(5), np.arange(6), indexing='ij')
    arr = (100 * k + 10 * r + c - 50 + 1024).astype(np.int16)
    ds.PixelData = arr.tobytes()
    if mode == 'rle':
        ds.compress(RLELossless, arr)
    ds.save_as(os.path.join(out, f'im{k}.dcm'), write_like_original=False)
""";

    private static void AssertPydicomSeries(ImportedVolume v)
    {
        Assert.Equal(new Dims(6, 5, 3), v.Hu.Dims);
        Assert.Equal(3.0, v.Hu.Spacing.Z, 4);
        Assert.Equal("LPS", Orientation.AxisCodes(v.Hu.Affine));
        for (var k = 0; k < 3; k++)
            for (var r = 0; r < 5; r++)
                for (var c = 0; c < 6; c++)
                    Assert.Equal(100 * k + 10 * r + c - 50, v.Hu[c, r, k]);
    }
}
