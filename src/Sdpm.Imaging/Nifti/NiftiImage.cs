using System.Numerics;
using System.Runtime.InteropServices;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Nifti;

/// <summary>A NIfTI file as read: its header and its voxels (stored orientation, before scaling).</summary>
public sealed class NiftiImage
{
    private readonly byte[] _raw; // little-endian voxels of Header.DataType

    internal NiftiImage(NiftiHeader header, string fileName, byte[] raw)
    {
        Header = header;
        FileName = fileName;
        _raw = raw;
    }

    public NiftiHeader Header { get; }

    /// <summary>The file name the image was read from (checked by the de-identification check).</summary>
    public string FileName { get; }

    public Dims Dims => Header.SpatialDims;

    /// <summary>The header's best affine (sform, else qform, else voxel sizes).</summary>
    public Affine Affine => Header.BestAffine();

    /// <summary>Statistics of the physical values (after scl_slope / scl_inter).</summary>
    public VolumeStatistics Statistics()
    {
        if (Header.DataType == NiftiDataType.Int16 && Header.EffectiveSlope == 1 && Header.EffectiveInter == 0)
            return VolumeStatistics.Of(MemoryMarshal.Cast<byte, short>(_raw));
        return Header.DataType switch
        {
            NiftiDataType.UInt8 => Stats<byte>(),
            NiftiDataType.Int8 => Stats<sbyte>(),
            NiftiDataType.Int16 => Stats<short>(),
            NiftiDataType.UInt16 => Stats<ushort>(),
            NiftiDataType.Int32 => Stats<int>(),
            NiftiDataType.Float32 => Stats<float>(),
            _ => Stats<double>(),
        };
    }

    /// <summary>Physical values rounded to the nearest integer and clamped to the int16 range (HU for CT).</summary>
    public Volume<short> ToInt16()
    {
        var dst = new short[Dims.VoxelCount];
        if (Header.DataType == NiftiDataType.Int16 && Header.EffectiveSlope == 1 && Header.EffectiveInter == 0)
            Buffer.BlockCopy(_raw, 0, dst, 0, _raw.Length);
        else
            Convert(dst, static v => (short)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue));
        return new Volume<short>(Dims, Affine, dst);
    }

    /// <summary>Physical values as float (probability maps, non-CT data).</summary>
    public Volume<float> ToFloat()
    {
        var dst = new float[Dims.VoxelCount];
        Convert(dst, static v => (float)v);
        return new Volume<float>(Dims, Affine, dst);
    }

    /// <summary>A binary mask: 1 where the physical value is non-zero.</summary>
    public Volume<byte> ToMask()
    {
        var dst = new byte[Dims.VoxelCount];
        Convert(dst, static v => v != 0 ? (byte)1 : (byte)0);
        return new Volume<byte>(Dims, Affine, dst);
    }

    private void Convert<TOut>(TOut[] dst, Func<double, TOut> map)
    {
        switch (Header.DataType)
        {
            case NiftiDataType.UInt8: ConvertFrom<byte, TOut>(dst, map); break;
            case NiftiDataType.Int8: ConvertFrom<sbyte, TOut>(dst, map); break;
            case NiftiDataType.Int16: ConvertFrom<short, TOut>(dst, map); break;
            case NiftiDataType.UInt16: ConvertFrom<ushort, TOut>(dst, map); break;
            case NiftiDataType.Int32: ConvertFrom<int, TOut>(dst, map); break;
            case NiftiDataType.Float32: ConvertFrom<float, TOut>(dst, map); break;
            default: ConvertFrom<double, TOut>(dst, map); break;
        }
    }

    private void ConvertFrom<TSrc, TOut>(TOut[] dst, Func<double, TOut> map) where TSrc : unmanaged, INumberBase<TSrc>
    {
        var src = MemoryMarshal.Cast<byte, TSrc>(_raw);
        double slope = Header.EffectiveSlope, inter = Header.EffectiveInter;
        for (var i = 0; i < dst.Length; i++) dst[i] = map(double.CreateTruncating(src[i]) * slope + inter);
    }

    private VolumeStatistics Stats<TSrc>() where TSrc : unmanaged, INumberBase<TSrc>
    {
        var src = MemoryMarshal.Cast<byte, TSrc>(_raw);
        double slope = Header.EffectiveSlope, inter = Header.EffectiveInter;
        double min = double.MaxValue, max = double.MinValue, sum = 0;
        foreach (var s in src)
        {
            var v = double.CreateTruncating(s) * slope + inter;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
        }
        return new VolumeStatistics(min, max, sum / src.Length, sum, src.Length);
    }
}
