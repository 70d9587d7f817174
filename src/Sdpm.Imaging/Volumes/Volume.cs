namespace Sdpm.Imaging.Volumes;

/// <summary>A 3D scalar image stored x fastest, then y, then z, so that one axial slice is one contiguous span.</summary>
/// <remarks>CT volumes are <c>Volume&lt;short&gt;</c> in Hounsfield units, masks <c>Volume&lt;byte&gt;</c> (0 or 1),
/// probability maps <c>Volume&lt;float&gt;</c>. Volumes returned by the importers are in the canonical
/// orientation described on <see cref="Orientation"/>.</remarks>
public sealed class Volume<T> where T : unmanaged
{
    /// <summary>Wraps (or allocates, when <paramref name="voxels"/> is null) the voxels of a grid.</summary>
    public Volume(Dims dims, Affine affine, T[]? voxels = null)
    {
        if (dims.X <= 0 || dims.Y <= 0 || dims.Z <= 0) throw new ArgumentException($"Dims must be positive, got {dims}.", nameof(dims));
        if (dims.VoxelCount > Array.MaxLength) throw new ArgumentException($"Dims {dims} exceed the largest array.", nameof(dims));
        voxels ??= new T[dims.VoxelCount];
        if (voxels.LongLength != dims.VoxelCount)
            throw new ArgumentException($"Expected {dims.VoxelCount} voxels for {dims}, got {voxels.LongLength}.", nameof(voxels));
        Dims = dims;
        Affine = affine;
        Voxels = voxels;
    }

    /// <summary>Creates an empty volume on the same grid as a source volume.</summary>
    public Volume(VolumeGeometry geometry) : this(geometry.Dims, geometry.Affine) { }

    public Dims Dims { get; }

    /// <summary>Voxel-to-world (RAS mm) transform.</summary>
    public Affine Affine { get; }

    /// <summary>Voxel size in mm (derived from <see cref="Affine"/>).</summary>
    public Spacing Spacing => Affine.VoxelSizes();

    /// <summary>The grid (dims and affine) without the voxels.</summary>
    public VolumeGeometry Geometry => new(Dims, Affine);

    /// <summary>All voxels, index = x + X * (y + Y * z).</summary>
    public T[] Voxels { get; }

    /// <summary>Axial slice z: row y starts at y * X.</summary>
    public Span<T> Slice(int z)
    {
        if ((uint)z >= (uint)Dims.Z) throw new ArgumentOutOfRangeException(nameof(z), $"Slice {z} is outside 0..{Dims.Z - 1}.");
        return Voxels.AsSpan(z * Dims.SliceLength, Dims.SliceLength);
    }

    public ref T this[int x, int y, int z] => ref Voxels[x + Dims.X * (y + (long)Dims.Y * z)];

    /// <summary>A copy that shares nothing with this volume.</summary>
    public Volume<T> Clone() => new(Dims, Affine, (T[])Voxels.Clone());
}

/// <summary>A voxel grid: dims and the voxel-to-world affine.</summary>
public sealed record VolumeGeometry(Dims Dims, Affine Affine)
{
    public Spacing Spacing => Affine.VoxelSizes();

    /// <summary>True when both grids have the same dims and (within a tolerance) the same affine.</summary>
    public bool Matches(VolumeGeometry other, double tolerance = 1e-3) =>
        Dims == other.Dims && Affine.ApproximatelyEquals(other.Affine, tolerance);
}

/// <summary>Minimum, maximum, mean and sum of a volume's values (physical units: HU for CT).</summary>
public sealed record VolumeStatistics(double Min, double Max, double Mean, double Sum, long Count)
{
    /// <summary>Accumulates statistics in one pass; merge partial results with <see cref="Merge"/>.</summary>
    public static VolumeStatistics Of(ReadOnlySpan<short> values)
    {
        if (values.IsEmpty) return new(0, 0, 0, 0, 0);
        int min = short.MaxValue, max = short.MinValue;
        long sum = 0;
        foreach (var v in values)
        {
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
        }
        return new(min, max, (double)sum / values.Length, sum, values.Length);
    }

    /// <summary>Statistics of floating-point values.</summary>
    public static VolumeStatistics Of(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return new(0, 0, 0, 0, 0);
        double min = double.MaxValue, max = double.MinValue, sum = 0;
        foreach (var v in values)
        {
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
        }
        return new(min, max, sum / values.Length, sum, values.Length);
    }

    /// <summary>Combines the statistics of two disjoint sets of values.</summary>
    public VolumeStatistics Merge(VolumeStatistics other)
    {
        if (Count == 0) return other;
        if (other.Count == 0) return this;
        var count = Count + other.Count;
        var sum = Sum + other.Sum;
        return new(Math.Min(Min, other.Min), Math.Max(Max, other.Max), sum / count, sum, count);
    }
}
