using Sdpm.Engine.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.Network;

/// <summary>Shared helpers for the building blocks.</summary>
internal static class Norms
{
    /// <summary>GroupNorm with initialised affine parameters (TorchSharp leaves them uninitialised: NaN outputs).</summary>
    public static GroupNorm Group(int channels)
    {
        var groups = channels % 8 == 0 && channels >= 32 ? 8 : channels % 4 == 0 && channels >= 16 ? 4 : channels % 2 == 0 ? 2 : 1;
        var gn = GroupNorm(groups, channels);
        using (no_grad())
        {
            gn.weight!.fill_(Sc.One);
            gn.bias!.fill_(Sc.Zero);
        }
        return gn;
    }
}

/// <summary>Sinusoidal embedding of the diffusion time followed by a two-layer MLP.</summary>
internal sealed class TimeEmbedding : Module<Tensor, Tensor>
{
    private readonly float[] _freqs;
    private readonly Linear fc1;
    private readonly Linear fc2;

    public TimeEmbedding(int dim, int outDim) : base(nameof(TimeEmbedding))
    {
        var half = dim / 2;
        _freqs = Enumerable.Range(0, half).Select(i => (float)Math.Exp(-Math.Log(10000) * i / Math.Max(1, half - 1))).ToArray();
        fc1 = Linear(dim, outDim);
        fc2 = Linear(outDim, outDim);
        RegisterComponents();
    }

    /// <summary>t: float tensor [B] of time indices.</summary>
    public override Tensor forward(Tensor t)
    {
        using var scope = NewDisposeScope();
        var freqs = Tensors.From(_freqs, t.device);
        var args = t.to_type(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);
        var emb = cat([sin(args), cos(args)], 1);
        return fc2.forward(F.silu(fc1.forward(emb))).MoveToOuterDisposeScope();
    }
}

/// <summary>conv3x3 -> GroupNorm -> FiLM(time) -> SiLU -> conv3x3 -> GroupNorm -> SiLU, plus a 1x1 skip.</summary>
internal sealed class ResBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly GroupNorm norm1;
    private readonly Linear film;
    private readonly Conv2d conv2;
    private readonly GroupNorm norm2;
    private readonly Conv2d skip;

    public ResBlock(int inChannels, int outChannels, int timeChannels) : base(nameof(ResBlock))
    {
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1);
        norm1 = Norms.Group(outChannels);
        film = Linear(timeChannels, 2 * outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1);
        norm2 = Norms.Group(outChannels);
        skip = Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor time)
    {
        using var scope = NewDisposeScope();
        var h = norm1.forward(conv1.forward(x));
        var ss = film.forward(F.silu(time)).unsqueeze(-1).unsqueeze(-1).chunk(2, 1);
        h = F.silu((h * ss[0]).Plus(h).Plus(ss[1]));
        h = F.silu(norm2.forward(conv2.forward(h)));
        return h.Plus(skip.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>Residual, pre-normalised multi-head self-attention over all positions of a feature map.</summary>
/// <remarks>Linear (the lower levels): softmax over channels for q and over positions for k, cost linear in the number
/// of positions. Full (the middle): softmax(qᵀk / √d) over all position pairs.</remarks>
internal sealed class SelfAttention : Module<Tensor, Tensor>
{
    private readonly bool _linear;
    private readonly int _heads;
    private readonly int _dimHead;
    private readonly Scalar _scale;
    private readonly GroupNorm norm;
    private readonly Conv2d qkv;
    private readonly Conv2d proj;

    public SelfAttention(int channels, int heads, int dimHead, bool linear) : base(linear ? "LinearAttention" : "FullAttention")
    {
        _linear = linear;
        _heads = heads;
        _dimHead = dimHead;
        _scale = (1.0 / Math.Sqrt(dimHead)).ToScalar();
        norm = Norms.Group(channels);
        qkv = Conv2d(channels, 3 * heads * dimHead, 1, bias: false);
        proj = Conv2d(heads * dimHead, channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, h, w) = (x.shape[0], x.shape[2], x.shape[3]);
        var parts = qkv.forward(norm.forward(x)).chunk(3, 1);
        var q = parts[0].reshape(b, _heads, _dimHead, h * w);
        var k = parts[1].reshape(b, _heads, _dimHead, h * w);
        var v = parts[2].reshape(b, _heads, _dimHead, h * w);
        Tensor outp;                                                           // [b, heads, d, n]
        if (_linear)
        {
            var context = matmul(k.softmax(-1), v.transpose(-1, -2));          // [b, heads, d, e]
            outp = matmul(context.transpose(-1, -2), q.softmax(-2) * _scale);
        }
        else
        {
            var attn = (matmul(q.transpose(-1, -2), k) * _scale).softmax(-1);  // [b, heads, n, n]
            outp = matmul(v, attn.transpose(-1, -2));
        }
        var y = proj.forward(outp.reshape(b, _heads * _dimHead, h, w));
        return x.Plus(y).MoveToOuterDisposeScope();
    }
}

/// <summary>Stride-2 3x3 convolution.</summary>
internal sealed class Downsample : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Downsample(int channels) : base(nameof(Downsample))
    {
        conv = Conv2d(channels, channels, 3, stride: 2, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => conv.forward(x);
}

/// <summary>Nearest-neighbour x2 followed by a 3x3 convolution.</summary>
internal sealed class Upsample : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Upsample(int inChannels, int outChannels) : base(nameof(Upsample))
    {
        conv = Conv2d(inChannels, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var up = F.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.forward(up).MoveToOuterDisposeScope();
    }
}
