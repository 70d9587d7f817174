using Sdpm.Engine.PostProcessing;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

public class PostProcessingTests
{
    [Fact]
    public void IsolatedPixelsAreRemovedAndClustersKept()
    {
        var p = new float[32 * 32];
        p[(2 * 32) + 2] = 0.9f;                        // isolated point
        for (var y = 20; y < 23; y++) for (var x = 20; x < 23; x++) p[(y * 32) + x] = 0.8f; // 3x3 blob
        p[(10 * 32) + 10] = 0.9f;                      // two points 3 pixels apart: both kept (7x7 window)
        p[(10 * 32) + 13] = 0.9f;
        using var prob = tensor(p, [1, 1, 32, 32]);
        using var kept = DiscretePointRemoval.Apply(prob, 0.5, 7);
        var k = kept.data<float>().ToArray();
        Assert.Equal(0f, k[(2 * 32) + 2]);
        Assert.Equal(1f, k[(21 * 32) + 21]);
        Assert.Equal(1f, k[(10 * 32) + 10]);
        Assert.Equal(1f, k[(10 * 32) + 13]);
        Assert.Equal(9 + 2, k.Sum());
    }

    [Fact]
    public void PointsFartherApartThanTheKernelAreBothRemoved()
    {
        var p = new float[16 * 16];
        p[(5 * 16) + 2] = 1f;
        p[(5 * 16) + 6] = 1f; // 4 apart: outside a 7x7 window's reach of 3
        using var prob = tensor(p, [1, 1, 16, 16]);
        using var kept = DiscretePointRemoval.Apply(prob, 0.5, 7);
        Assert.Equal(0f, kept.sum().item<float>());
    }
}
