using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Imaging.Synthetic;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Sampling;

/// <summary>The noise of a chunk of (slice, repeat) items: each item draws from a generator of its own, seeded by the
/// protocol's seed, the mode, the slice and the repeat, so an item's noise does not depend on which items share its
/// chunk or in which order chunks run.</summary>
internal sealed class ItemNoise : IDisposable
{
    private readonly Generator[] _generators;
    private readonly long[] _shape;
    private readonly Device _device;

    public ItemNoise(ulong seed, SamplingMode mode, IReadOnlyList<(int Slice, int Repeat)> items, long[] stackShape, Device device)
    {
        _device = device;
        _shape = [1, .. stackShape.Skip(1)];
        _generators = items.Select(i => new Generator(Prng.Derive(seed, 23, (ulong)mode, (ulong)i.Slice, (ulong)i.Repeat).NextUInt64(), device)).ToArray();
    }

    /// <summary>The next standard normal draw of every item, stacked: [items, 1, H, W].</summary>
    public Tensor Next()
    {
        using var scope = NewDisposeScope();
        var parts = _generators.Select(g => randn(_shape, device: _device, generator: g)).ToArray();
        return (parts.Length == 1 ? parts[0] : cat(parts, 0)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var g in _generators) g.Dispose();
    }
}
