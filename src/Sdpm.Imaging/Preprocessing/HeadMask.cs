using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Preprocessing;

/// <summary>Options of the head mask.</summary>
/// <param name="ThresholdHu">Voxels above this value are candidate head (air is about -1000 HU, skin about 0).</param>
/// <param name="LargestComponentOnly">Keep only the largest 6-connected component (drops the table, head rest and noise).</param>
/// <param name="FillHoles">Fill holes slice by slice (air in sinuses, dark noise inside the head).</param>
/// <param name="ExcludeAboveHu">When set, voxels above this value (bone) are removed after filling.</param>
/// <param name="ExcludeMargin">With <paramref name="ExcludeAboveHu"/>: also removes voxels within this many pixels (in plane,
/// Chebyshev distance) of a removed bone voxel.</param>
public sealed record HeadMaskOptions(short ThresholdHu = -300, bool LargestComponentOnly = true, bool FillHoles = true, short? ExcludeAboveHu = null,
    int ExcludeMargin = 0)
{
    public static HeadMaskOptions Default { get; } = new();
}

/// <summary>The head (or brain, without bone) region of a CT volume: threshold, largest component, holes filled.</summary>
public static class HeadMask
{
    /// <summary>Computes the mask (1 inside the head) on the volume's grid.</summary>
    public static Volume<byte> Compute(Volume<short> hu, HeadMaskOptions? options = null)
    {
        options ??= HeadMaskOptions.Default;
        var mask = new Volume<byte>(hu.Geometry);
        var m = mask.Voxels;
        var v = hu.Voxels;
        var t = options.ThresholdHu;
        for (var i = 0; i < v.Length; i++) m[i] = v[i] > t ? (byte)1 : (byte)0;
        if (options.LargestComponentOnly) KeepLargestComponent(mask);
        if (options.FillHoles)
            Parallel.For(0, mask.Dims.Z, z => FillSliceHoles(mask.Slice(z), mask.Dims.X, mask.Dims.Y));
        if (options.ExcludeAboveHu is { } bone)
        {
            var (w, h, r) = (mask.Dims.X, mask.Dims.Y, options.ExcludeMargin);
            var plane = w * h;
            for (var i = 0; i < v.Length; i++)
            {
                if (v[i] <= bone) continue;
                m[i] = 0;
                if (r <= 0) continue;
                var (z, y, x) = (i / plane, i % plane / w, i % w);
                for (var dy = Math.Max(0, y - r); dy <= Math.Min(h - 1, y + r); dy++)
                    for (var dx = Math.Max(0, x - r); dx <= Math.Min(w - 1, x + r); dx++)
                        m[(z * plane) + (dy * w) + dx] = 0;
            }
        }
        return mask;
    }

    /// <summary>Keeps the largest 6-connected component of a binary mask (in place).</summary>
    public static void KeepLargestComponent(Volume<byte> mask)
    {
        var d = mask.Dims;
        var m = mask.Voxels;
        var labels = new int[m.Length];
        var queue = new int[m.Length];
        int sx = 1, sy = d.X, sz = d.X * d.Y;
        int bestLabel = 0, bestSize = 0, label = 0;
        for (var seed = 0; seed < m.Length; seed++)
        {
            if (m[seed] == 0 || labels[seed] != 0) continue;
            label++;
            int head = 0, tail = 0;
            queue[tail++] = seed;
            labels[seed] = label;
            while (head < tail)
            {
                var p = queue[head++];
                var x = p % d.X;
                var y = p / sy % d.Y;
                var z = p / sz;
                if (x > 0) Visit(p - sx);
                if (x < d.X - 1) Visit(p + sx);
                if (y > 0) Visit(p - sy);
                if (y < d.Y - 1) Visit(p + sy);
                if (z > 0) Visit(p - sz);
                if (z < d.Z - 1) Visit(p + sz);
            }
            if (tail > bestSize) { bestSize = tail; bestLabel = label; }

            void Visit(int q)
            {
                if (m[q] == 0 || labels[q] != 0) return;
                labels[q] = label;
                queue[tail++] = q;
            }
        }
        for (var i = 0; i < m.Length; i++) m[i] = labels[i] == bestLabel && bestLabel != 0 ? (byte)1 : (byte)0;
    }

    /// <summary>Sets to 1 every background pixel of a slice that is not 4-connected to the slice border.</summary>
    public static void FillSliceHoles(Span<byte> slice, int width, int height)
    {
        var outside = new bool[slice.Length];
        var stack = new Stack<int>();
        var s = slice.ToArray();
        for (var x = 0; x < width; x++) { Push(x); Push((height - 1) * width + x); }
        for (var y = 0; y < height; y++) { Push(y * width); Push(y * width + width - 1); }
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            int x = p % width, y = p / width;
            if (x > 0) Push(p - 1);
            if (x < width - 1) Push(p + 1);
            if (y > 0) Push(p - width);
            if (y < height - 1) Push(p + width);
        }
        for (var i = 0; i < slice.Length; i++) if (!outside[i]) slice[i] = 1;

        void Push(int p)
        {
            if (outside[p] || s[p] != 0) return;
            outside[p] = true;
            stack.Push(p);
        }
    }
}
