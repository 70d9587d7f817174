using TorchSharp;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Losses;
using Sdpm.Engine.Network;
using Sdpm.Engine.Schedule;
using Sdpm.Engine.Torch;
using Sdpm.Engine.Training;
using static TorchSharp.torch;

namespace Sdpm.Engine.Sampling;

/// <summary>A trained model ready for inference: the network with its EMA weights, in eval mode, on a device.</summary>
public sealed class SegmentationModel : IDisposable
{
    public const string CheckpointFileName = "checkpoint.sdpm";

    private SegmentationModel(IStreamNetwork net, TrainingOptions options, Device device, int trainedSteps)
    {
        Network = net;
        Options = options;
        Device = device;
        TrainedSteps = trainedSteps;
        Diffusion = new SynchronousDiffusion(new SigmoidSchedule(options.DiffusionSteps));
        if (net is DiffusionUNet unet)
        {
            unet.to(device);
            unet.eval();
        }
    }

    /// <summary>The network: a trained <see cref="DiffusionUNet"/>, or a test's exact stand-in.</summary>
    public IStreamNetwork Network { get; }
    public TrainingOptions Options { get; }
    public ModelKind Kind => Options.Model;
    public Device Device { get; }
    public string DeviceName => TorchDevice.Describe(Device);
    public SynchronousDiffusion Diffusion { get; }
    public int ImageSize => Options.Network().ImageSize;
    public int TrainedSteps { get; }

    /// <summary>Loads the EMA weights of a checkpoint file or of a run folder's checkpoint.</summary>
    public static SegmentationModel Load(string checkpointOrRun, string device = "auto")
    {
        var path = Directory.Exists(checkpointOrRun) ? Path.Combine(checkpointOrRun, CheckpointFileName) : checkpointOrRun;
        if (!File.Exists(path)) throw new ArgumentException($"no checkpoint at '{path}'.");
        using var ckpt = Checkpoint.Load(path);
        return FromWeights(ckpt.Options, ckpt.Group("ema"), device, ckpt.Step);
    }

    /// <summary>Builds a model from named weights (for example a trainer's EMA weights).</summary>
    public static SegmentationModel FromWeights(TrainingOptions options, IReadOnlyDictionary<string, Tensor> weights, string device = "auto", int trainedSteps = 0)
    {
        var dev = TorchDevice.Resolve(device);
        var net = ModelNetworks.Build(options.Model, options.Network(), 0);
        Trainer.LoadWeights(net, weights);
        return new SegmentationModel(net, options, dev, trainedSteps);
    }

    /// <summary>A model around any network (tests: stand-ins that return exact noise and labels).</summary>
    public static SegmentationModel ForNetwork(IStreamNetwork network, TrainingOptions options, string device = "cpu") =>
        new(network, options, TorchDevice.Resolve(device), 0);

    /// <summary>Both streams at a single time t: (eps_hat, y_t_hat), masked by the brain. For the U-Net: (logits, logits).</summary>
    public (Tensor EpsHat, Tensor YtHat) Forward(Tensor xt, int t, Tensor brain)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var tv = ((double)t).ToScalar();
        var tt = full([xt.shape[0]], tv, device: xt.device);
        var outs = Network.forward(xt, tt);
        if (outs.Length == 1) return ((outs[0] * brain).MoveToOuterDisposeScope(), (outs[0] * brain).MoveToOuterDisposeScope());
        return ((outs[0] * brain).MoveToOuterDisposeScope(), (outs[1] * brain).MoveToOuterDisposeScope());
    }

    /// <summary>The direct (t = 0) lesion probability of clean slices x0 [B,1,H,W]: SDPM's y0_hat, the U-Net's sigmoid.</summary>
    public Tensor DirectProbability(Tensor x0, Tensor brain)
    {
        using var scope = NewDisposeScope();
        var (eps, yt) = Forward(x0 * brain, 0, brain);
        var p = Kind == ModelKind.UNet ? eps.sigmoid() : SegmentationLosses.Probability(yt);
        return (p * brain).MoveToOuterDisposeScope();
    }

    public void Dispose() => (Network as IDisposable)?.Dispose();
}
