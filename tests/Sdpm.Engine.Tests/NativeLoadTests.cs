using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

public class NativeLoadTests
{
    [Fact]
    public void TorchLoadsAndRunsAConvolutionOnCpu()
    {
        using var x = ones(1, 1, 8, 8);
        using var w = ones(1, 1, 3, 3);
        using var y = nn.functional.conv2d(x, w, padding: new long[] { 1, 1 });
        Assert.Equal(9f, y[0, 0, 4, 4].item<float>());
        Assert.Equal(4f, y[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void ConvolutionBackwardIsDeterministic()
    {
        // Regression: oneDNN's AVX-512 conv backward gave run-to-run different (sometimes NaN) gradients here.
        Assert.NotEqual("", TorchRuntime.OneDnnIsa);
        // Own generators: other test classes run in parallel and share the global RNG.
        using var g = new Generator(1);
        using var x = randn([4, 8, 16, 16], generator: g);
        using var w = randn([8, 8, 3, 3], generator: g) * 0.1;
        var results = new HashSet<float>();
        for (var run = 0; run < 6; run++)
        {
            using var conv = nn.Conv2d(8, 8, 3, padding: 1, bias: false);
            using (no_grad()) conv.weight!.copy_(w);
            using var xx = x.detach().clone().requires_grad_(true);
            using var loss = conv.forward(xx).square().mean();
            loss.backward();
            results.Add(xx.grad!.square().sum().item<float>());
        }
        Assert.Single(results);
        Assert.True(float.IsFinite(results.First()));
    }
}
