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
