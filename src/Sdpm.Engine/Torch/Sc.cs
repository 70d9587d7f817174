using TorchSharp;

namespace Sdpm.Engine.Torch;

/// <summary>Scalars that stay alive for the whole process.</summary>
/// <remarks>TorchSharp passes a Scalar's native handle to libtorch without keeping the managed Scalar reachable, so a
/// temporary made by an implicit double-to-Scalar conversion can be finalised (and its native memory freed) by a GC that
/// another thread triggers while the call runs: seen here as "Expected false to be true ... toFloat" after ~400 training
/// steps. The engine therefore passes only these cached Scalars or ones held by a using variable for the call's duration.</remarks>
internal static class Sc
{
    public static readonly Scalar Zero = 0.0.ToScalar();
    public static readonly Scalar One = 1.0.ToScalar();
    public static readonly Scalar MinusOne = (-1.0).ToScalar();
    public static readonly Scalar Two = 2.0.ToScalar();
    public static readonly Scalar Half = 0.5.ToScalar();
    public static readonly Scalar OneAndHalf = 1.5.ToScalar();
}

/// <summary>Sums and squares that hand TorchSharp only kept-alive scalars.</summary>
/// <remarks>TorchSharp 0.107's <c>a + b</c> (<c>Tensor.add(Tensor)</c>), <c>a + s</c>, <c>add_(s)</c> and <c>square()</c> create
/// their alpha / exponent as a temporary Scalar, the hazard <see cref="Sc"/> describes: a 700-step U-Net run crashed with
/// "toFloat ... Expected false to be true" inside <c>add_</c>. The engine uses these instead; a test scans the engine's IL for
/// calls into TorchSharp methods that make temporary scalars.</remarks>
internal static class SafeOps
{
    public static torch.Tensor Plus(this torch.Tensor a, torch.Tensor b) => a.add(b, Sc.One);

    public static torch.Tensor Plus(this torch.Tensor a, Scalar b) => a.add(b, Sc.One);

    public static torch.Tensor PlusInPlace(this torch.Tensor a, Scalar b) => a.add_(b, Sc.One);

    public static torch.Tensor Squared(this torch.Tensor a) => a.pow(Sc.Two);
}
