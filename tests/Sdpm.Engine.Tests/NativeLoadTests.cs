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
}
