using Sdpm.Imaging.Deid;
using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Dicom;
using Sdpm.Imaging.Tests.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Deid;

public class DicomDeidTests
{
    private static IReadOnlyList<DeidFinding> Findings(Dictionary<(ushort, ushort), (string, string)> extra)
    {
        var bytes = DicomTestWriter.Write(new CtSlice { Extra = extra });
        return DicomDeidCheck.Check(DicomParser.Parse(bytes, "x.dcm"));
    }

    [Fact]
    public void ReportsEveryIdentifyingAttributeWithoutItsValue()
    {
        var f = Findings(new()
        {
            [(0x0010, 0x0010)] = ("PN", "Doe^Johnathan"),
            [(0x0010, 0x0020)] = ("LO", "MRN-998877"),
            [(0x0010, 0x0030)] = ("DA", "19500101"),
            [(0x0008, 0x0050)] = ("SH", "ACC123"),
            [(0x0008, 0x0080)] = ("LO", "St Elsewhere Hospital"),
            [(0x0008, 0x0090)] = ("PN", "House^Gregory"),
            [(0x0010, 0x1040)] = ("LO", "1 Main Street"),
            [(0x0028, 0x0301)] = ("CS", "YES"),
            [(0x0008, 0x0020)] = ("DA", "20240131"),
        });
        var names = f.Select(x => x.Name).ToHashSet();
        foreach (var expected in new[] { "PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName",
                     "ReferringPhysicianName", "PatientAddress", "BurnedInAnnotation", "StudyDate" })
            Assert.Contains(expected, names);
        Assert.Equal("(0010,0010)", f.Single(x => x.Name == "PatientName").Tag);
        foreach (var finding in f)
        {
            Assert.DoesNotContain("Doe", finding.Detail);
            Assert.DoesNotContain("998877", finding.Detail);
            Assert.DoesNotContain("Elsewhere", finding.Detail);
        }
    }

    [Fact]
    public void CleanFilesHaveNoFindings()
    {
        Assert.Empty(Findings(new() { [(0x0010, 0x0010)] = ("PN", ""), [(0x0028, 0x0301)] = ("CS", "NO") }));
    }

    [Fact]
    public void ShiftedDatesAreAcceptedButBirthDatesAreNot()
    {
        var f = Findings(new()
        {
            [(0x0012, 0x0062)] = ("CS", "YES"),
            [(0x0012, 0x0063)] = ("LO", "Basic profile; dates shifted by a per-patient offset"),
            [(0x0008, 0x0020)] = ("DA", "20240131"),
            [(0x0010, 0x0030)] = ("DA", "19500101"),
        });
        Assert.DoesNotContain(f, x => x.Name == "StudyDate");
        Assert.Contains(f, x => x.Name == "PatientBirthDate");
    }

    [Fact]
    public void SeriesFindingsAreMergedWithFileCounts()
    {
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3, tweak: (k, s) => k == 0
            ? s with { Extra = new() { [(0x0010, 0x0010)] = ("PN", "Roe^Jane") } } : s));
        var v = VolumeImporter.Open(dir.Path);
        var finding = Assert.Single(v.Findings);
        Assert.Equal("PatientName", finding.Name);
        Assert.Contains("in 1 of 3 files", finding.Detail);
    }
}

public class NiftiDeidTests(NibabelFiles files) : IClassFixture<NibabelFiles>
{
    [Fact]
    public void FlagsDescripExtensionsAndFileName()
    {
        var image = NiftiReader.Read(files["with_phi.nii.gz"]);
        var f = NiftiDeidCheck.Check(image.Header, "Smith^Anna_20230405.nii.gz");
        Assert.Contains(f, x => x.Tag == "descrip" && x.Name == "person name");
        Assert.Contains(f, x => x.Tag == "descrip" && x.Name == "date");
        Assert.Contains(f, x => x.Tag == "extension[0]" && x.Name == "identifying keyword");
        Assert.Contains(f, x => x.Tag == "extension[0]" && x.Name.StartsWith("long number"));
        Assert.Contains(f, x => x.Tag == "filename" && x.Name == "date");
        Assert.All(f, x => Assert.DoesNotContain("Doe", x.Detail));
    }

    [Fact]
    public void CleanFilesHaveNoFindings()
    {
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File("case0001.nii.gz"), TestVolumes.Ramp());
        Assert.Empty(VolumeImporter.Open(dir.File("case0001.nii.gz")).Findings);
    }

    [Theory]
    [InlineData("TE=2.3;Time=140256.000", false)]
    [InlineData("sub-012_ses-1_ct", false)]
    [InlineData("Doe^John", true)]
    [InlineData("Smith, Anna", true)]
    [InlineData("scan 2021-03-04", true)]
    [InlineData("04.03.2021", true)]
    [InlineData("MRN 12345678", true)]
    [InlineData("dr. House", false)]
    [InlineData("Dr. House", true)]
    public void TextHeuristics(string text, bool identifying)
    {
        Assert.Equal(identifying, IdentifyingText.Find(text).Count > 0);
    }
}
