using System.Globalization;

namespace Sdpm.Imaging.Volumes;

/// <summary>Voxel-to-world transform, NIfTI convention: world coordinates are RAS+ millimetres.</summary>
/// <remarks>Stored as the top three rows of a 4x4 matrix; the last row is always (0, 0, 0, 1).
/// Column c of the 3x3 part is the world step of one voxel along voxel axis c.</remarks>
public sealed class Affine : IEquatable<Affine>
{
    private readonly double[] _m; // row-major 3x4

    private Affine(double[] m) => _m = m;

    /// <summary>The identity transform (1 mm voxels, RAS voxel order).</summary>
    public static Affine Identity { get; } = new([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);

    /// <summary>Builds an affine from its top three rows, 4 values each (row-major).</summary>
    public static Affine FromRows(ReadOnlySpan<double> rows)
    {
        if (rows.Length != 12) throw new ArgumentException("An affine needs 12 values (3 rows of 4).", nameof(rows));
        return new Affine(rows.ToArray());
    }

    /// <summary>Builds an affine from a 3x4 or 4x4 matrix.</summary>
    public static Affine FromMatrix(double[,] m)
    {
        var v = new double[12];
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++) v[r * 4 + c] = m[r, c];
        return new Affine(v);
    }

    /// <summary>The canonical-orientation affine for a grid (see <see cref="Orientation"/>): x to patient left, y to posterior, z to superior.</summary>
    public static Affine Canonical(Spacing spacing, double originX = 0, double originY = 0, double originZ = 0) =>
        new([-spacing.X, 0, 0, originX, 0, -spacing.Y, 0, originY, 0, 0, spacing.Z, originZ]);

    public double this[int row, int col] => row == 3 ? (col == 3 ? 1 : 0) : _m[row * 4 + col];

    /// <summary>The matrix product this * other (apply other first).</summary>
    public Affine Multiply(Affine other)
    {
        var r = new double[12];
        for (var i = 0; i < 3; i++)
            for (var j = 0; j < 4; j++)
            {
                var s = 0.0;
                for (var k = 0; k < 3; k++) s += this[i, k] * other[k, j];
                if (j == 3) s += this[i, 3];
                r[i * 4 + j] = s;
            }
        return new Affine(r);
    }

    /// <summary>World position (RAS mm) of a voxel index (fractional indices allowed).</summary>
    public (double X, double Y, double Z) Transform(double i, double j, double k) => (
        _m[0] * i + _m[1] * j + _m[2] * k + _m[3],
        _m[4] * i + _m[5] * j + _m[6] * k + _m[7],
        _m[8] * i + _m[9] * j + _m[10] * k + _m[11]);

    /// <summary>Voxel sizes: the lengths of the three columns of the 3x3 part.</summary>
    public Spacing VoxelSizes() => new(ColumnNorm(0), ColumnNorm(1), ColumnNorm(2));

    /// <summary>Determinant of the 3x3 part (negative for a left-handed voxel grid).</summary>
    public double Determinant3()
    {
        double a = _m[0], b = _m[1], c = _m[2], d = _m[4], e = _m[5], f = _m[6], g = _m[8], h = _m[9], i = _m[10];
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    }

    /// <summary>The inverse transform (world to voxel).</summary>
    public Affine Inverse()
    {
        double a = _m[0], b = _m[1], c = _m[2], d = _m[4], e = _m[5], f = _m[6], g = _m[8], h = _m[9], i = _m[10];
        var det = Determinant3();
        if (Math.Abs(det) < 1e-12) throw new InvalidOperationException("The affine is singular.");
        var inv = new double[12];
        inv[0] = (e * i - f * h) / det; inv[1] = (c * h - b * i) / det; inv[2] = (b * f - c * e) / det;
        inv[4] = (f * g - d * i) / det; inv[5] = (a * i - c * g) / det; inv[6] = (c * d - a * f) / det;
        inv[8] = (d * h - e * g) / det; inv[9] = (b * g - a * h) / det; inv[10] = (a * e - b * d) / det;
        for (var r = 0; r < 3; r++)
            inv[r * 4 + 3] = -(inv[r * 4] * _m[3] + inv[r * 4 + 1] * _m[7] + inv[r * 4 + 2] * _m[11]);
        return new Affine(inv);
    }

    /// <summary>True when every element differs by at most <paramref name="tolerance"/>.</summary>
    public bool ApproximatelyEquals(Affine other, double tolerance = 1e-4)
    {
        for (var i = 0; i < 12; i++)
            if (Math.Abs(_m[i] - other._m[i]) > tolerance) return false;
        return true;
    }

    /// <summary>The top three rows as a 3x4 array.</summary>
    public double[,] ToArray()
    {
        var a = new double[3, 4];
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++) a[r, c] = _m[r * 4 + c];
        return a;
    }

    private double ColumnNorm(int c) => Math.Sqrt(_m[c] * _m[c] + _m[4 + c] * _m[4 + c] + _m[8 + c] * _m[8 + c]);

    public bool Equals(Affine? other) => other is not null && _m.AsSpan().SequenceEqual(other._m);

    public override bool Equals(object? obj) => Equals(obj as Affine);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var v in _m) h.Add(v);
        return h.ToHashCode();
    }

    public override string ToString()
    {
        var rows = new string[3];
        for (var r = 0; r < 3; r++)
            rows[r] = string.Join(' ', Enumerable.Range(0, 4).Select(c => _m[r * 4 + c].ToString("0.####", CultureInfo.InvariantCulture)));
        return "[" + string.Join("; ", rows) + "]";
    }
}
