using static TorchSharp.torch;

namespace Sdpm.Engine.Torch;

/// <summary>Tensors from managed arrays, copied into memory that libtorch owns, and back.</summary>
/// <remarks>A tensor made from a .NET array may share the array's (pinned) memory for as long as its handle lives; when a
/// dispose scope frees the handle while autograd still holds the tensor for the backward pass, the backward reads freed
/// memory (seen here as random NaN gradients). Copying decouples the tensor's storage from the handle.
/// Every intermediate tensor is held in a variable until libtorch is done with it: TorchSharp does not keep the object a
/// method is called on alive during the native call, so in <c>view.to(device).clone()</c> the finalizer could free the
/// result of <c>to</c> while <c>clone</c> read it, when a garbage collection ran outside any dispose scope
/// (<c>TensorLifetimeTests</c>).</remarks>
public static class Tensors
{
    public static Tensor From(float[] data, long[] shape, Device device)
    {
        using var view = tensor(data, shape);
        using var moved = view.to(device);
        return moved.clone();
    }

    public static Tensor From(float[] data, Device device) => From(data, [data.LongLength], device);

    /// <summary>The values of a float tensor, copied to a managed array (from any device).</summary>
    public static float[] ToArray(Tensor t)
    {
        using var host = t.cpu();
        return host.data<float>().ToArray();
    }

    public static Tensor From(long[] data, Device device)
    {
        using var view = tensor(data);
        using var moved = view.to(device);
        return moved.clone();
    }
}
