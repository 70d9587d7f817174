namespace Sdpm.Imaging.Volumes;

/// <summary>Voxel counts along x (columns), y (rows) and z (axial slices).</summary>
public readonly record struct Dims(int X, int Y, int Z)
{
    /// <summary>Total number of voxels.</summary>
    public long VoxelCount => (long)X * Y * Z;

    /// <summary>Number of voxels in one axial slice.</summary>
    public int SliceLength => X * Y;

    public int this[int axis] => axis switch { 0 => X, 1 => Y, 2 => Z, _ => throw new ArgumentOutOfRangeException(nameof(axis)) };

    public override string ToString() => $"{X}x{Y}x{Z}";
}

/// <summary>Voxel size in millimetres along x, y and z.</summary>
public readonly record struct Spacing(double X, double Y, double Z)
{
    /// <summary>Volume of one voxel in cubic millimetres.</summary>
    public double VoxelVolumeMm3 => X * Y * Z;

    public double this[int axis] => axis switch { 0 => X, 1 => Y, 2 => Z, _ => throw new ArgumentOutOfRangeException(nameof(axis)) };

    public override string ToString() => FormattableString.Invariant($"{X:0.###}x{Y:0.###}x{Z:0.###} mm");
}
