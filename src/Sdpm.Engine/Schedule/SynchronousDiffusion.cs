using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Schedule;

/// <summary>The synchronous forward process and eq. 11 as tensor operations; one noise shared by image and label.</summary>
public sealed class SynchronousDiffusion(SigmoidSchedule schedule)
{
    public SigmoidSchedule Schedule { get; } = schedule;

    /// <summary>sqrt(abar_t) and sqrt(1 - abar_t) per sample, shaped [B,1,1,1] on the given device.</summary>
    public (Tensor SqrtAlphaBar, Tensor SqrtOneMinus) Coefficients(IReadOnlyList<int> t, Device device)
    {
        var a = new float[t.Count];
        var b = new float[t.Count];
        for (var i = 0; i < t.Count; i++)
        {
            a[i] = (float)Math.Sqrt(Schedule.AlphaBar[t[i]]);
            b[i] = (float)Math.Sqrt(1 - Schedule.AlphaBar[t[i]]);
        }
        return (Tensors.From(a, device).view(-1, 1, 1, 1), Tensors.From(b, device).view(-1, 1, 1, 1));
    }

    /// <summary>q(x_t | x0) for image and label with the same noise, inside the brain mask: (x_t, y_t).</summary>
    public (Tensor Xt, Tensor Yt) Noise(Tensor x0, Tensor y0, Tensor eps, Tensor brain, IReadOnlyList<int> t)
    {
        using var scope = NewDisposeScope();
        var (sa, s1) = Coefficients(t, x0.device);
        var xt = (sa * x0).Plus(s1 * eps) * brain;
        var yt = (sa * y0).Plus(s1 * eps) * brain;
        return (xt.MoveToOuterDisposeScope(), yt.MoveToOuterDisposeScope());
    }

    /// <summary>q(x_t | x0) for the image alone (inference), inside the brain mask.</summary>
    public Tensor NoiseImage(Tensor x0, Tensor eps, Tensor brain, int t)
    {
        using var sa = Math.Sqrt(Schedule.AlphaBar[t]).ToScalar();
        using var s1 = Math.Sqrt(1 - Schedule.AlphaBar[t]).ToScalar();
        using var scope = NewDisposeScope();
        return ((x0 * sa).Plus(eps * s1) * brain).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 11 solved for the clean signal: v0 = v_t / sqrt(abar_t) - sqrt((1 - abar_t)/abar_t) eps_hat.</summary>
    public static Tensor Clean(Tensor vt, Tensor epsHat, Tensor sqrtAlphaBar, Tensor sqrtOneMinus)
    {
        using var scope = NewDisposeScope();
        return ((vt - (sqrtOneMinus * epsHat)) / sqrtAlphaBar).MoveToOuterDisposeScope();
    }

    /// <summary>Eq. 11 at a single time t.</summary>
    public Tensor Clean(Tensor vt, Tensor epsHat, int t)
    {
        using var sa = Math.Sqrt(Schedule.AlphaBar[t]).ToScalar();
        using var s1 = Math.Sqrt(1 - Schedule.AlphaBar[t]).ToScalar();
        using var scope = NewDisposeScope();
        return ((vt - (epsHat * s1)) / sa).MoveToOuterDisposeScope();
    }
}
