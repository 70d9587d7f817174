namespace Sdpm.Imaging.Deid;

/// <summary>One piece of possibly identifying information found in an input; the value itself is never included.</summary>
/// <param name="Tag">Where: a DICOM tag "(0010,0010)", or a NIfTI field ("descrip", "aux_file", "intent_name",
/// "extension[0]", "filename").</param>
/// <param name="Name">What: the DICOM keyword ("PatientName") or the kind of text found ("date", "person name").</param>
/// <param name="Detail">A redacted description for people (length, how many files), never the value.</param>
public sealed record DeidFinding(string Tag, string Name, string Detail);
