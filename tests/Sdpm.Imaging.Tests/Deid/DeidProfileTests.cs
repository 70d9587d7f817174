using Sdpm.Imaging.Deid;
using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Dicom;
using Sdpm.Imaging.Tests.Support;

namespace Sdpm.Imaging.Tests.Deid;

/// <summary>The DICOM check covers every profile row, walks sequences and reports private data.</summary>
public class DeidProfileTests
{
    private const string Secret = "Doe^Johnathan 998877";

    public static TheoryData<string> Keywords() => new(DicomDeidCheck.CheckedKeywords);

    private static IReadOnlyList<DeidFinding> Check(CtSlice slice) =>
        DicomDeidCheck.Check(DicomParser.Parse(DicomTestWriter.Write(slice), "x.dcm"));

    private static byte[][] CodeItem(bool explicitVr) => [DicomTestWriter.Text(0x0008, 0x0100, "SH", "ABC123", explicitVr)];

    [Theory]
    [MemberData(nameof(Keywords))]
    public void EveryProfileRowHoldingAValueIsReportedWithoutTheValue(string keyword)
    {
        var tag = DicomDeidCheck.TagOf(keyword);
        var slice = new CtSlice();
        if (keyword.EndsWith("Sequence", StringComparison.Ordinal))
            slice.Raw.Add(DicomTestWriter.Sequence(tag.Group, tag.Element, explicitVr: true, undefinedLength: false, CodeItem(true)));
        else
        {
            var value = keyword switch
            {
                "BurnedInAnnotation" => "YES",
                _ when keyword.EndsWith("Date", StringComparison.Ordinal) => "20240131",
                _ => Secret, // also trips the free-text heuristics (a DICOM person name)
            };
            slice.Extra[(tag.Group, tag.Element)] = ("LO", value);
        }
        var findings = Check(slice);
        var f = Assert.Single(findings, x => x.Name == keyword);
        Assert.Equal(tag.ToString(), f.Tag);
        Assert.DoesNotContain("Johnathan", f.Detail);
        Assert.DoesNotContain("998877", f.Detail);
        Assert.DoesNotContain("ABC123", f.Detail);
    }

    [Theory]
    [InlineData(DicomTestWriter.Explicit, true)]
    [InlineData(DicomTestWriter.Explicit, false)]
    [InlineData(DicomTestWriter.Implicit, true)]
    [InlineData(DicomTestWriter.Implicit, false)]
    public void IdentifiersInsideUnlistedNestedSequencesAreReportedWithTheirPath(string ts, bool undefinedLength)
    {
        var ex = ts != DicomTestWriter.Implicit;
        // OriginalAttributesSequence > ModifiedAttributesSequence > PatientName: where de-identifiers keep the original.
        var modified = DicomTestWriter.Sequence(0x0400, 0x0550, ex, undefinedLength,
            [DicomTestWriter.Text(0x0010, 0x0010, "PN", "Doe^John", ex), DicomTestWriter.Text(0x0010, 0x0020, "LO", "MRN1", ex)]);
        var original = DicomTestWriter.Sequence(0x0400, 0x0561, ex, undefinedLength,
            [DicomTestWriter.Text(0x0400, 0x0565, "CS", "COERCE", ex), modified]);
        // An unlisted sequence (ReferencedStudySequence) holding an accession number.
        var referenced = DicomTestWriter.Sequence(0x0008, 0x1110, ex, undefinedLength,
            [DicomTestWriter.Text(0x0008, 0x1150, "UI", "1.2.3", ex), DicomTestWriter.Text(0x0008, 0x0050, "SH", "ACC42", ex)]);
        var slice = new CtSlice { TransferSyntax = ts, Raw = [original, referenced] };

        var findings = Check(slice);
        Assert.Contains(findings, f => f.Name == "PatientName" && f.Tag == "(0400,0561)[0]/(0400,0550)[0]/(0010,0010)");
        Assert.Contains(findings, f => f.Name == "PatientID" && f.Tag == "(0400,0561)[0]/(0400,0550)[0]/(0010,0020)");
        Assert.Contains(findings, f => f.Name == "AccessionNumber" && f.Tag == "(0008,1110)[0]/(0008,0050)");
        Assert.Contains(findings, f => f.Name == "OriginalAttributesSequence");
        Assert.All(findings, f => Assert.DoesNotContain("Doe", f.Detail));

        // The series still reads: the parser steps over the sequences in this transfer syntax.
        using var dir = new TempDir();
        DicomTestWriter.WriteSeries(dir.Path, DicomTestWriter.Axial(3, ts: ts, tweak: (k, s) => s with { Raw = [original, referenced] }));
        var v = VolumeImporter.Open(dir.Path);
        Assert.Equal(3, v.Hu.Dims.Z);
        Assert.Contains(v.Findings, f => f.Name == "PatientName" && f.Detail.Contains("in 3 of 3 files"));
    }

    [Fact]
    public void AListedSequenceWithOnlyAnEmptyItemIsNotReported()
    {
        var empty = DicomTestWriter.Sequence(0x0008, 0x1120, explicitVr: true, undefinedLength: true, []);
        Assert.Empty(Check(new CtSlice { Raw = [empty] }));
    }

    [Fact]
    public void OddLengthValuesAndDeepNestingParse()
    {
        var ex = true;
        var inner = DicomTestWriter.Sequence(0x0040, 0xA730, ex, true, [DicomTestWriter.Text(0x0040, 0xA123, "PN", "Roe^Jane", ex, odd: true)]);
        var outer = DicomTestWriter.Sequence(0x0040, 0xA730, ex, false, [DicomTestWriter.Text(0x0008, 0x0100, "SH", "X", ex, odd: true), inner]);
        var outermost = DicomTestWriter.Sequence(0x0008, 0x1115, ex, true, [outer]);
        var findings = Check(new CtSlice { Raw = [outermost, DicomTestWriter.Text(0x0008, 0x1010, "SH", "CT1", ex, odd: true)] });
        Assert.Contains(findings, f => f.Name == "PersonName" && f.Tag == "(0008,1115)[0]/(0040,A730)[0]/(0040,A730)[0]/(0040,A123)");
        Assert.Contains(findings, f => f.Name == "StationName" && f.Detail.Contains("3 characters"));
    }

    [Fact]
    public void PrivateAttributesAreReportedWithoutTheirValues()
    {
        var slice = new CtSlice
        {
            Extra =
            {
                [(0x0009, 0x0010)] = ("LO", "ACME 1.1"),
                [(0x0009, 0x1001)] = ("LO", "Doe^John"),
                [(0x0019, 0x0010)] = ("LO", "VENDOR"),
            },
        };
        var f = Assert.Single(Check(slice));
        Assert.Equal("PrivateAttributes", f.Name);
        Assert.Contains("0009, 0019", f.Detail);
        Assert.DoesNotContain("Doe", f.Detail);
        Assert.DoesNotContain("ACME", f.Detail);
    }

    [Fact]
    public void AnIdentifyingDescriptionIsReportedButAProtocolNameIsNot()
    {
        Assert.Empty(Check(new CtSlice { Extra = { [(0x0008, 0x103E)] = ("LO", "CT HEAD 5mm STROKE") } }));
        Assert.Contains(Check(new CtSlice { Extra = { [(0x0008, 0x103E)] = ("LO", "Head for Doe^John") } }), f => f.Name == "SeriesDescription");
    }

    [Theory]
    [InlineData("patient_0042", true)]
    [InlineData("mrn_12345", true)]
    [InlineData("dob_1970", true)]
    [InlineData("case-007_name_doe", true)]
    [InlineData("sub-012_ses-1_ct", false)]
    [InlineData("filename_ct", false)]
    public void FileNameWordsJoinedByUnderscoresAreChecked(string name, bool identifying)
    {
        Assert.Equal(identifying, IdentifyingText.Find(name).Count > 0);
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File(name + ".nii.gz"), TestVolumes.Ramp());
        var v = VolumeImporter.Open(dir.File(name + ".nii.gz"));
        Assert.Equal(identifying, v.Findings.Any(f => f.Tag == "filename"));
    }

    [Fact]
    public void ADicomExtensionInANiftiFileIsChecked()
    {
        var ds = DicomTestWriter.Write(new CtSlice { TransferSyntax = DicomTestWriter.Implicit, IncludePixels = false, Extra = { [(0x0010, 0x0010)] = ("PN", "Doe^John") } });
        var header = new NiftiHeader { Extensions = [new NiftiExtension(2, ds[132..])] };
        // The extension holds the dataset without the 128-byte preamble and "DICM".
        var findings = NiftiDeidCheck.Check(header, "case1.nii");
        Assert.Contains(findings, f => f.Tag == "extension[0]" && f.Name == "PatientName");
        Assert.DoesNotContain(findings, f => f.Detail.Contains("Doe", StringComparison.Ordinal));
    }
}
