using Sdpm.Engine.Data;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Training;

/// <summary>Lesion-aware slice sampling: lesion-positive slices always, lesion-free (brain) slices at a ratio.</summary>
/// <remarks>Each step's draw depends only on (seed, step), so a resumed run draws exactly what an uninterrupted one would.</remarks>
public sealed class SliceSampler
{
    private readonly List<(PreparedCase Case, int Z)> _positive = [];
    private readonly List<(PreparedCase Case, int Z)> _negative = [];
    private readonly ulong _seed;
    private readonly double _ratio;

    public SliceSampler(IReadOnlyList<PreparedCase> cases, double lesionFreeRatio, ulong seed)
    {
        foreach (var c in cases)
            for (var z = 0; z < c.Slices; z++)
            {
                if (!c.HasBrain(z)) continue;
                (c.HasLesion(z) ? _positive : _negative).Add((c, z));
            }
        if (_positive.Count + _negative.Count == 0) throw new ArgumentException("no training slices: the cases contain no head.");
        _seed = seed;
        _ratio = _positive.Count == 0 ? double.PositiveInfinity : lesionFreeRatio;
    }

    public int PositiveSlices => _positive.Count;

    public int NegativeSlices => _negative.Count;

    /// <summary>The slices of one step's batch.</summary>
    public IReadOnlyList<(PreparedCase Case, int Z)> Batch(int step, int batchSize)
    {
        var rng = Prng.Derive(_seed, 7, (ulong)step);
        var pNegative = _negative.Count == 0 ? 0 : double.IsPositiveInfinity(_ratio) ? 1 : _ratio / (1 + _ratio);
        var batch = new List<(PreparedCase, int)>(batchSize);
        for (var i = 0; i < batchSize; i++)
        {
            var pool = rng.NextDouble() < pNegative ? _negative : _positive;
            batch.Add(pool[rng.Next(0, pool.Count)]);
        }
        return batch;
    }
}
