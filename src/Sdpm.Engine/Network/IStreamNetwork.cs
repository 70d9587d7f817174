using static TorchSharp.torch;

namespace Sdpm.Engine.Network;

/// <summary>What the objective and the samplers ask of a network: the stream outputs for noisy inputs x_t at times t
/// (SDPM: [eps_hat, y_t_hat]; a baseline: [logits]). <see cref="DiffusionUNet"/> is the real one; tests pass exact
/// stand-ins to check the maths without training.</summary>
public interface IStreamNetwork
{
    /// <param name="x">[B,1,H,W] inputs.</param>
    /// <param name="t">[B] times, as floats.</param>
    Tensor[] forward(Tensor x, Tensor t);
}
