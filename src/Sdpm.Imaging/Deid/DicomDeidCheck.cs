using System.Text;
using Sdpm.Imaging.Dicom;

namespace Sdpm.Imaging.Deid;

/// <summary>Checks DICOM attributes against the person- and institution-identifying part of the
/// PS3.15 Basic Application Level Confidentiality Profile. It reports; it never rewrites.</summary>
public static class DicomDeidCheck
{
    private enum Kind { Text, Date, Flag }

    private static readonly (ushort G, ushort E, string Keyword, Kind Kind)[] Profile =
    [
        (0x0008, 0x0012, "InstanceCreationDate", Kind.Date),
        (0x0008, 0x0020, "StudyDate", Kind.Date),
        (0x0008, 0x0021, "SeriesDate", Kind.Date),
        (0x0008, 0x0022, "AcquisitionDate", Kind.Date),
        (0x0008, 0x0023, "ContentDate", Kind.Date),
        (0x0008, 0x002A, "AcquisitionDateTime", Kind.Date),
        (0x0008, 0x0050, "AccessionNumber", Kind.Text),
        (0x0008, 0x0080, "InstitutionName", Kind.Text),
        (0x0008, 0x0081, "InstitutionAddress", Kind.Text),
        (0x0008, 0x0082, "InstitutionCodeSequence", Kind.Text),
        (0x0008, 0x0090, "ReferringPhysicianName", Kind.Text),
        (0x0008, 0x0092, "ReferringPhysicianAddress", Kind.Text),
        (0x0008, 0x0094, "ReferringPhysicianTelephoneNumbers", Kind.Text),
        (0x0008, 0x0096, "ReferringPhysicianIdentificationSequence", Kind.Text),
        (0x0008, 0x1010, "StationName", Kind.Text),
        (0x0008, 0x1040, "InstitutionalDepartmentName", Kind.Text),
        (0x0008, 0x1048, "PhysiciansOfRecord", Kind.Text),
        (0x0008, 0x1049, "PhysiciansOfRecordIdentificationSequence", Kind.Text),
        (0x0008, 0x1050, "PerformingPhysicianName", Kind.Text),
        (0x0008, 0x1052, "PerformingPhysicianIdentificationSequence", Kind.Text),
        (0x0008, 0x1060, "NameOfPhysiciansReadingStudy", Kind.Text),
        (0x0008, 0x1062, "PhysiciansReadingStudyIdentificationSequence", Kind.Text),
        (0x0008, 0x1070, "OperatorsName", Kind.Text),
        (0x0008, 0x1072, "OperatorIdentificationSequence", Kind.Text),
        (0x0008, 0x1120, "ReferencedPatientSequence", Kind.Text),
        (0x0010, 0x0010, "PatientName", Kind.Text),
        (0x0010, 0x0020, "PatientID", Kind.Text),
        (0x0010, 0x0021, "IssuerOfPatientID", Kind.Text),
        (0x0010, 0x0030, "PatientBirthDate", Kind.Text),
        (0x0010, 0x0032, "PatientBirthTime", Kind.Text),
        (0x0010, 0x0050, "PatientInsurancePlanCodeSequence", Kind.Text),
        (0x0010, 0x1000, "OtherPatientIDs", Kind.Text),
        (0x0010, 0x1001, "OtherPatientNames", Kind.Text),
        (0x0010, 0x1002, "OtherPatientIDsSequence", Kind.Text),
        (0x0010, 0x1005, "PatientBirthName", Kind.Text),
        (0x0010, 0x1040, "PatientAddress", Kind.Text),
        (0x0010, 0x1060, "PatientMotherBirthName", Kind.Text),
        (0x0010, 0x1080, "MilitaryRank", Kind.Text),
        (0x0010, 0x1081, "BranchOfService", Kind.Text),
        (0x0010, 0x1090, "MedicalRecordLocator", Kind.Text),
        (0x0010, 0x2150, "CountryOfResidence", Kind.Text),
        (0x0010, 0x2152, "RegionOfResidence", Kind.Text),
        (0x0010, 0x2154, "PatientTelephoneNumbers", Kind.Text),
        (0x0010, 0x2155, "PatientTelecomInformation", Kind.Text),
        (0x0010, 0x21B0, "AdditionalPatientHistory", Kind.Text),
        (0x0010, 0x4000, "PatientComments", Kind.Text),
        (0x0018, 0x1000, "DeviceSerialNumber", Kind.Text),
        (0x0020, 0x0010, "StudyID", Kind.Text),
        (0x0028, 0x0301, "BurnedInAnnotation", Kind.Flag),
        (0x0032, 0x1032, "RequestingPhysician", Kind.Text),
        (0x0032, 0x1033, "RequestingService", Kind.Text),
        (0x0038, 0x0010, "AdmissionID", Kind.Text),
        (0x0038, 0x0300, "CurrentPatientLocation", Kind.Text),
        (0x0038, 0x0400, "PatientInstitutionResidence", Kind.Text),
        (0x0040, 0x0006, "ScheduledPerformingPhysicianName", Kind.Text),
        (0x0040, 0x0244, "PerformedProcedureStepStartDate", Kind.Date),
        (0x0040, 0x0253, "PerformedProcedureStepID", Kind.Text),
        (0x0040, 0x1001, "RequestedProcedureID", Kind.Text),
        (0x0040, 0x2016, "PlacerOrderNumberImagingServiceRequest", Kind.Text),
        (0x0040, 0x2017, "FillerOrderNumberImagingServiceRequest", Kind.Text),
        (0x0040, 0xA123, "PersonName", Kind.Text),
    ];

    private static readonly DicomTag PatientIdentityRemoved = new(0x0012, 0x0062);
    private static readonly DicomTag DeidentificationMethod = new(0x0012, 0x0063);
    private static readonly DicomTag DeidentificationMethodCodeSequence = new(0x0012, 0x0064);

    /// <summary>The keywords the check looks at (for documentation and tests).</summary>
    public static IReadOnlyList<string> CheckedKeywords { get; } = Profile.Select(p => p.Keyword).ToArray();

    /// <summary>Findings for one file: every checked attribute that holds a value. Full dates are skipped when the
    /// file declares the "Retain Longitudinal Temporal Information with Modified Dates" option (code 113107) or a
    /// date shift in DeidentificationMethod; the birth date is always reported.</summary>
    public static IReadOnlyList<DeidFinding> Check(DicomDataset dataset)
    {
        var shifted = DatesShifted(dataset);
        var findings = new List<DeidFinding>();
        foreach (var (g, e, keyword, kind) in Profile)
        {
            var tag = new DicomTag(g, e);
            var element = dataset.Get(tag);
            if (element is null || element.Length == 0) continue;
            if (element.IsSequence)
            {
                if (HasItems(element)) findings.Add(new(tag.ToString(), keyword, "sequence with content (redacted)"));
                continue;
            }
            var value = dataset.GetString(tag);
            if (string.IsNullOrWhiteSpace(value)) continue;
            switch (kind)
            {
                case Kind.Date when shifted:
                    continue;
                case Kind.Date:
                    findings.Add(new(tag.ToString(), keyword, $"full date present (redacted, {value.Length} characters); dates must be removed or shifted"));
                    break;
                case Kind.Flag when !value.Equals("YES", StringComparison.OrdinalIgnoreCase):
                    continue;
                case Kind.Flag:
                    findings.Add(new(tag.ToString(), keyword, "YES: the pixels contain burned-in text that may identify the patient"));
                    break;
                default:
                    findings.Add(new(tag.ToString(), keyword, $"holds a value (redacted, {value.Length} characters)"));
                    break;
            }
        }
        return findings;
    }

    /// <summary>Merges per-file findings of a series into one finding per attribute, with file counts.</summary>
    public static IReadOnlyList<DeidFinding> Merge(IReadOnlyList<IReadOnlyList<DeidFinding>> perFile)
    {
        var total = perFile.Count;
        return perFile.SelectMany(f => f)
            .GroupBy(f => (f.Tag, f.Name))
            .OrderBy(g => g.Key.Tag, StringComparer.Ordinal)
            .Select(g => new DeidFinding(g.Key.Tag, g.Key.Name,
                total == 1 ? g.First().Detail : $"{g.First().Detail}; in {g.Count()} of {total} files"))
            .ToList();
    }

    private static bool DatesShifted(DicomDataset ds)
    {
        var method = ds.GetString(DeidentificationMethod) ?? "";
        if (method.Contains("shift", StringComparison.OrdinalIgnoreCase) || method.Contains("modified date", StringComparison.OrdinalIgnoreCase))
            return true;
        var codes = ds.Get(DeidentificationMethodCodeSequence);
        return codes is not null && Encoding.Latin1.GetString(codes.Value.Span).Contains("113107", StringComparison.Ordinal);
    }

    private static bool HasItems(DicomElement sequence)
    {
        // An empty sequence is just its delimiter (undefined length) or nothing (zero length).
        var s = sequence.Value.Span;
        return s.Length > 8;
    }
}
