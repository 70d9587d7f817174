namespace Sdpm.Imaging.Dicom;

/// <summary>A DICOM attribute tag (group, element).</summary>
public readonly record struct DicomTag(ushort Group, ushort Element)
{
    public uint Value => (uint)Group << 16 | Element;

    public bool IsPrivate => (Group & 1) == 1;

    public override string ToString() => $"({Group:X4},{Element:X4})";

    internal static readonly DicomTag TransferSyntaxUid = new(0x0002, 0x0010);
    internal static readonly DicomTag SpecificCharacterSet = new(0x0008, 0x0005);
    internal static readonly DicomTag SopClassUid = new(0x0008, 0x0016);
    internal static readonly DicomTag Modality = new(0x0008, 0x0060);
    internal static readonly DicomTag SliceThickness = new(0x0018, 0x0050);
    internal static readonly DicomTag GantryDetectorTilt = new(0x0018, 0x1120);
    internal static readonly DicomTag StudyInstanceUid = new(0x0020, 0x000D);
    internal static readonly DicomTag SeriesInstanceUid = new(0x0020, 0x000E);
    internal static readonly DicomTag InstanceNumber = new(0x0020, 0x0013);
    internal static readonly DicomTag ImagePositionPatient = new(0x0020, 0x0032);
    internal static readonly DicomTag ImageOrientationPatient = new(0x0020, 0x0037);
    internal static readonly DicomTag SamplesPerPixel = new(0x0028, 0x0002);
    internal static readonly DicomTag PhotometricInterpretation = new(0x0028, 0x0004);
    internal static readonly DicomTag NumberOfFrames = new(0x0028, 0x0008);
    internal static readonly DicomTag Rows = new(0x0028, 0x0010);
    internal static readonly DicomTag Columns = new(0x0028, 0x0011);
    internal static readonly DicomTag PixelSpacing = new(0x0028, 0x0030);
    internal static readonly DicomTag BitsAllocated = new(0x0028, 0x0100);
    internal static readonly DicomTag BitsStored = new(0x0028, 0x0101);
    internal static readonly DicomTag PixelRepresentation = new(0x0028, 0x0103);
    internal static readonly DicomTag RescaleIntercept = new(0x0028, 0x1052);
    internal static readonly DicomTag RescaleSlope = new(0x0028, 0x1053);
    internal static readonly DicomTag PixelPaddingValue = new(0x0028, 0x0120);
    internal static readonly DicomTag PixelPaddingRangeLimit = new(0x0028, 0x0121);
    internal static readonly DicomTag PixelData = new(0x7FE0, 0x0010);
}

/// <summary>Names of the transfer syntaxes a CT series may come in.</summary>
public static class TransferSyntax
{
    public const string ImplicitVrLittleEndian = "1.2.840.10008.1.2";
    public const string ExplicitVrLittleEndian = "1.2.840.10008.1.2.1";
    public const string DeflatedExplicitVrLittleEndian = "1.2.840.10008.1.2.1.99";
    public const string ExplicitVrBigEndian = "1.2.840.10008.1.2.2";

    /// <summary>True for the syntaxes read directly (implicit, explicit and deflated explicit VR little endian).</summary>
    public static bool IsNative(string uid) => uid is ImplicitVrLittleEndian or ExplicitVrLittleEndian or DeflatedExplicitVrLittleEndian;

    /// <summary>A readable name for a transfer syntax UID (the UID itself when unknown).</summary>
    public static string Describe(string uid) => uid switch
    {
        ImplicitVrLittleEndian => "Implicit VR Little Endian",
        ExplicitVrLittleEndian => "Explicit VR Little Endian",
        DeflatedExplicitVrLittleEndian => "Deflated Explicit VR Little Endian",
        ExplicitVrBigEndian => "Explicit VR Big Endian",
        "1.2.840.10008.1.2.4.50" => "JPEG Baseline (1.2.840.10008.1.2.4.50)",
        "1.2.840.10008.1.2.4.51" => "JPEG Extended (1.2.840.10008.1.2.4.51)",
        "1.2.840.10008.1.2.4.57" => "JPEG Lossless (1.2.840.10008.1.2.4.57)",
        "1.2.840.10008.1.2.4.70" => "JPEG Lossless SV1 (1.2.840.10008.1.2.4.70)",
        "1.2.840.10008.1.2.4.80" => "JPEG-LS Lossless (1.2.840.10008.1.2.4.80)",
        "1.2.840.10008.1.2.4.81" => "JPEG-LS Near-Lossless (1.2.840.10008.1.2.4.81)",
        "1.2.840.10008.1.2.4.90" => "JPEG 2000 Lossless (1.2.840.10008.1.2.4.90)",
        "1.2.840.10008.1.2.4.91" => "JPEG 2000 (1.2.840.10008.1.2.4.91)",
        "1.2.840.10008.1.2.4.201" => "HTJ2K Lossless (1.2.840.10008.1.2.4.201)",
        "1.2.840.10008.1.2.4.203" => "HTJ2K (1.2.840.10008.1.2.4.203)",
        "1.2.840.10008.1.2.5" => "RLE Lossless (1.2.840.10008.1.2.5)",
        _ => $"transfer syntax {uid}",
    };
}
