using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Nifti;

/// <summary>NIfTI voxel data types we read and write.</summary>
public enum NiftiDataType : short
{
    UInt8 = 2,
    Int16 = 4,
    Int32 = 8,
    Float32 = 16,
    Float64 = 64,
    Int8 = 256,
    UInt16 = 512,
}

/// <summary>One NIfTI header extension: its code and raw bytes.</summary>
public sealed record NiftiExtension(int Code, byte[] Data)
{
    /// <summary>The registered name of the extension code (e.g. "dicom", "afni", "comment").</summary>
    public string CodeName => Code switch
    {
        0 => "ignore", 2 => "dicom", 4 => "afni", 6 => "comment", 8 => "xcede", 10 => "jimdiminfo",
        12 => "workflow_fwds", 14 => "freesurfer", 16 => "pypickle", 18 => "mind_ident", 20 => "b_value",
        22 => "spherical_direction", 24 => "dt_component", 26 => "shc_degreeorder", 28 => "voxbo",
        30 => "caret", 32 => "cifti", 34 => "variable_frame_timing", 38 => "eval", 40 => "matlab",
        42 => "quantiphyse", 44 => "mrs", _ => $"code {Code}",
    };
}

/// <summary>The fields of a NIfTI-1 or NIfTI-2 header that matter for reading, writing and de-identification.</summary>
public sealed class NiftiHeader
{
    /// <summary>1 or 2.</summary>
    public int Version { get; init; } = 1;
    public bool BigEndian { get; init; }
    public long VoxOffset { get; init; }
    public NiftiDataType DataType { get; init; }
    public int BitPix { get; init; }
    /// <summary>dim[0..7] as stored.</summary>
    public long[] Dim { get; init; } = new long[8];
    /// <summary>pixdim[0..7] as stored (pixdim[0] is qfac).</summary>
    public double[] PixDim { get; init; } = new double[8];
    public double SclSlope { get; init; }
    public double SclInter { get; init; }
    public int QformCode { get; init; }
    public int SformCode { get; init; }
    public double QuaternB { get; init; }
    public double QuaternC { get; init; }
    public double QuaternD { get; init; }
    public double QOffsetX { get; init; }
    public double QOffsetY { get; init; }
    public double QOffsetZ { get; init; }
    /// <summary>srow_x, srow_y, srow_z: 12 values.</summary>
    public double[] SRows { get; init; } = new double[12];
    public int IntentCode { get; init; }
    public string Descrip { get; init; } = "";
    public string AuxFile { get; init; } = "";
    public string IntentName { get; init; } = "";
    public int XyztUnits { get; init; }
    public IReadOnlyList<NiftiExtension> Extensions { get; init; } = [];

    /// <summary>Bytes per voxel of <see cref="DataType"/>.</summary>
    public int BytesPerVoxel => BytesOf(DataType);

    /// <summary>The slope actually applied: scl_slope, or 1 when it is 0 or not finite (NIfTI rule).</summary>
    public double EffectiveSlope => SclSlope == 0 || !double.IsFinite(SclSlope) ? 1 : SclSlope;

    /// <summary>The intercept actually applied (0 when no scaling applies).</summary>
    public double EffectiveInter => SclSlope == 0 || !double.IsFinite(SclSlope) || !double.IsFinite(SclInter) ? 0 : SclInter;

    /// <summary>The spatial dims (dim[1..3], missing ones are 1).</summary>
    public Dims SpatialDims => new((int)Dim[1], Dim[0] >= 2 ? (int)Dim[2] : 1, Dim[0] >= 3 ? (int)Dim[3] : 1);

    /// <summary>The best voxel-to-world transform: sform when sform_code &gt; 0, else qform when qform_code &gt; 0,
    /// else the voxel sizes alone (NIfTI "method 1"). A singular or non-finite sform (written by broken tools)
    /// is skipped like an absent one.</summary>
    public Affine BestAffine()
    {
        if (SformCode > 0 && SRows.All(double.IsFinite))
        {
            var sform = Affine.FromRows(SRows);
            if (Math.Abs(sform.Determinant3()) > 1e-9) return sform;
        }
        if (QformCode > 0) return QformAffine();
        double dx = PixDim[1] > 0 ? PixDim[1] : 1, dy = PixDim[2] > 0 ? PixDim[2] : 1, dz = PixDim[3] > 0 ? PixDim[3] : 1;
        return Affine.FromRows([dx, 0, 0, 0, 0, dy, 0, 0, 0, 0, dz, 0]);
    }

    /// <summary>The affine described by the quaternion fields (NIfTI "method 2").</summary>
    public Affine QformAffine()
    {
        double b = QuaternB, c = QuaternC, d = QuaternD;
        var aa = 1.0 - (b * b + c * c + d * d);
        double a;
        if (aa < 1e-7)
        {
            var n = Math.Sqrt(b * b + c * c + d * d);
            a = 0;
            if (n > 0) { b /= n; c /= n; d /= n; }
        }
        else a = Math.Sqrt(aa);
        double dx = PixDim[1] > 0 ? PixDim[1] : 1, dy = PixDim[2] > 0 ? PixDim[2] : 1, dz = PixDim[3] > 0 ? PixDim[3] : 1;
        if (PixDim[0] < 0) dz = -dz;
        double r11 = a * a + b * b - c * c - d * d, r12 = 2 * (b * c - a * d), r13 = 2 * (b * d + a * c);
        double r21 = 2 * (b * c + a * d), r22 = a * a + c * c - b * b - d * d, r23 = 2 * (c * d - a * b);
        double r31 = 2 * (b * d - a * c), r32 = 2 * (c * d + a * b), r33 = a * a + d * d - c * c - b * b;
        return Affine.FromRows([
            r11 * dx, r12 * dy, r13 * dz, QOffsetX,
            r21 * dx, r22 * dy, r23 * dz, QOffsetY,
            r31 * dx, r32 * dy, r33 * dz, QOffsetZ]);
    }

    /// <summary>Bytes per voxel of a data type, or 0 when we do not support it.</summary>
    public static int BytesOf(NiftiDataType t) => t switch
    {
        NiftiDataType.UInt8 or NiftiDataType.Int8 => 1,
        NiftiDataType.Int16 or NiftiDataType.UInt16 => 2,
        NiftiDataType.Int32 or NiftiDataType.Float32 => 4,
        NiftiDataType.Float64 => 8,
        _ => 0,
    };

    /// <summary>The data type name as printed by tools ("int16", "float32", ...).</summary>
    public static string NameOf(NiftiDataType t) => t switch
    {
        NiftiDataType.UInt8 => "uint8", NiftiDataType.Int8 => "int8", NiftiDataType.Int16 => "int16",
        NiftiDataType.UInt16 => "uint16", NiftiDataType.Int32 => "int32", NiftiDataType.Float32 => "float32",
        NiftiDataType.Float64 => "float64", _ => $"datatype {(int)t}",
    };
}
