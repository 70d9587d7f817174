using Sdpm.Engine.Contracts.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.Network;

/// <summary>A time-conditioned U-Net with one shared encoder and middle and one decoder per output stream.</summary>
/// <remarks>SDPM uses two streams (noise eps_hat, noisy label y_t_hat); the plain U-Net baseline uses one stream at t = 0.
/// Every block scopes its own temporaries, so a forward pass holds only block outputs (platform-notes: memory).</remarks>
public sealed class DiffusionUNet : Module<Tensor, Tensor, Tensor[]>, IStreamNetwork
{
    private readonly Conv2d stem;
    private readonly TimeEmbedding time;
    private readonly ModuleList<EncoderLevel> encoder;
    private readonly ResBlock mid1;
    private readonly SelfAttention midAttention;
    private readonly ResBlock mid2;
    private readonly ModuleList<Decoder> decoders;

    public DiffusionUNet(NetworkConfig config, int streams) : base(nameof(DiffusionUNet))
    {
        config.Validate();
        Config = config;
        Streams = streams;
        var ch = config.ChannelMultipliers.Select(m => m * config.BaseChannels).ToArray();
        var tdim = 4 * config.BaseChannels;
        stem = Conv2d(1, ch[0], 3, padding: 1);
        time = new TimeEmbedding(config.BaseChannels, tdim);
        encoder = new ModuleList<EncoderLevel>();
        var prev = ch[0];
        for (var l = 0; l < config.Levels; l++)
        {
            encoder.Add(new EncoderLevel(prev, ch[l], tdim, config, HasLinearAttention(config, l), l < config.Levels - 1));
            prev = ch[l];
        }
        mid1 = new ResBlock(prev, prev, tdim);
        midAttention = new SelfAttention(prev, config.AttentionHeads, config.AttentionHeadChannels, linear: false);
        mid2 = new ResBlock(prev, prev, tdim);
        decoders = new ModuleList<Decoder>();
        for (var s = 0; s < streams; s++) decoders.Add(new Decoder(ch, tdim, config));
        RegisterComponents();
    }

    public NetworkConfig Config { get; }

    public int Streams { get; }

    /// <summary>x: [B,1,H,W] noisy image; t: [B] time indices. Returns one [B,1,H,W] tensor per stream.</summary>
    public override Tensor[] forward(Tensor x, Tensor t)
    {
        using var scope = NewDisposeScope();
        var temb = time.forward(t);
        var h = stem.forward(x);
        var skips = new List<Tensor>();
        foreach (var level in encoder)
        {
            var (skip, next) = level.Run(h, temb);
            skips.Add(skip);
            h = next;
        }
        h = mid2.forward(midAttention.forward(mid1.forward(h, temb)), temb);
        var outputs = decoders.Select(d => d.forward(h, temb, skips).MoveToOuterDisposeScope()).ToArray();
        return outputs;
    }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    private static bool HasLinearAttention(NetworkConfig c, int level) => level >= c.Levels - c.LinearAttentionLevels && level < c.Levels;

    /// <summary>Residual blocks (+ linear attention) at one resolution, then an optional downsampling.</summary>
    private sealed class EncoderLevel : Module<Tensor, Tensor, Tensor>
    {
        private readonly ModuleList<ResBlock> blocks = new();
        private readonly ModuleList<SelfAttention> attention = new();
        private readonly ModuleList<Downsample> down = new();

        public EncoderLevel(int inCh, int outCh, int tdim, NetworkConfig c, bool attend, bool downsample) : base(nameof(EncoderLevel))
        {
            for (var b = 0; b < c.ResBlocksPerLevel; b++) blocks.Add(new ResBlock(b == 0 ? inCh : outCh, outCh, tdim));
            if (attend) attention.Add(new SelfAttention(outCh, c.AttentionHeads, c.AttentionHeadChannels, linear: true));
            if (downsample) down.Add(new Downsample(outCh));
            RegisterComponents();
        }

        public (Tensor Skip, Tensor Next) Run(Tensor x, Tensor temb)
        {
            var skip = forward(x, temb);
            return (skip, down.Count > 0 ? down[0].forward(skip) : skip);
        }

        public override Tensor forward(Tensor x, Tensor temb)
        {
            using var scope = NewDisposeScope();
            var h = x;
            foreach (var b in blocks) h = b.forward(h, temb);
            foreach (var a in attention) h = a.forward(h);
            return h.MoveToOuterDisposeScope();
        }
    }

    /// <summary>One output stream: levels from the lowest resolution up, each fed the encoder skip, then a 1x1 head.</summary>
    private sealed class Decoder : Module<Tensor, Tensor, List<Tensor>, Tensor>
    {
        private readonly ModuleList<DecoderLevel> levels = new();
        private readonly GroupNorm outNorm;
        private readonly Conv2d head;

        public Decoder(int[] ch, int tdim, NetworkConfig c) : base(nameof(Decoder))
        {
            for (var l = c.Levels - 1; l >= 0; l--)
                levels.Add(new DecoderLevel(ch[l], l > 0 ? ch[l - 1] : 0, tdim, c, HasLinearAttention(c, l)));
            outNorm = Norms.Group(ch[0]);
            head = Conv2d(ch[0], 1, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor mid, Tensor temb, List<Tensor> skips)
        {
            using var scope = NewDisposeScope();
            var h = mid;
            for (var i = 0; i < levels.Count; i++) h = levels[i].forward(h, temb, skips[skips.Count - 1 - i]);
            return head.forward(F.silu(outNorm.forward(h))).MoveToOuterDisposeScope();
        }
    }

    private sealed class DecoderLevel : Module<Tensor, Tensor, Tensor, Tensor>
    {
        private readonly ModuleList<ResBlock> blocks = new();
        private readonly ModuleList<SelfAttention> attention = new();
        private readonly ModuleList<Upsample> up = new();

        public DecoderLevel(int ch, int upTo, int tdim, NetworkConfig c, bool attend) : base(nameof(DecoderLevel))
        {
            for (var b = 0; b < c.ResBlocksPerLevel; b++) blocks.Add(new ResBlock(b == 0 ? 2 * ch : ch, ch, tdim));
            if (attend) attention.Add(new SelfAttention(ch, c.AttentionHeads, c.AttentionHeadChannels, linear: true));
            if (upTo > 0) up.Add(new Upsample(ch, upTo));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x, Tensor temb, Tensor skip)
        {
            using var scope = NewDisposeScope();
            var h = cat([x, skip], 1);
            foreach (var b in blocks) h = b.forward(h, temb);
            foreach (var a in attention) h = a.forward(h);
            foreach (var u in up) h = u.forward(h);
            return h.MoveToOuterDisposeScope();
        }
    }
}
