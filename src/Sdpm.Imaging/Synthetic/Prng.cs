namespace Sdpm.Imaging.Synthetic;

/// <summary>Seeded xoshiro256** generator: the same seed gives the same numbers on every machine and run.</summary>
public sealed class Prng
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spare;

    public Prng(ulong seed)
    {
        var sm = seed;
        _s0 = SplitMix(ref sm);
        _s1 = SplitMix(ref sm);
        _s2 = SplitMix(ref sm);
        _s3 = SplitMix(ref sm);
    }

    /// <summary>A generator for a sub-stream (a case, a slice) derived from a seed and stream numbers.</summary>
    public static Prng Derive(ulong seed, params ulong[] stream)
    {
        var h = seed ^ 0x9E3779B97F4A7C15UL;
        foreach (var s in stream)
        {
            var x = h ^ (s + 0x632BE59BD9B4E019UL);
            h = SplitMix(ref x);
        }
        return new Prng(h);
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public double Uniform(double min, double max) => min + (max - min) * NextDouble();

    /// <summary>Uniform integer in [min, max).</summary>
    public int Next(int min, int max) => min + (int)(NextDouble() * (max - min));

    /// <summary>Standard normal (Box-Muller, pairs cached).</summary>
    public double Gaussian()
    {
        if (_spare is { } s)
        {
            _spare = null;
            return s;
        }
        double u, v, r;
        do
        {
            u = 2 * NextDouble() - 1;
            v = 2 * NextDouble() - 1;
            r = u * u + v * v;
        } while (r >= 1 || r == 0);
        var f = Math.Sqrt(-2 * Math.Log(r) / r);
        _spare = v * f;
        return u * f;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
