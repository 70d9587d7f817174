using static TorchSharp.torch;

namespace Sdpm.Engine.Torch;

/// <summary>Tensors from managed arrays, copied into memory that libtorch owns.</summary>
/// <remarks>A tensor made from a .NET array may share the array's (pinned) memory for as long as its handle lives; when a
/// dispose scope frees the handle while autograd still holds the tensor for the backward pass, the backward reads freed
/// memory (seen here as random NaN gradients). Copying decouples the tensor's storage from the handle.</remarks>
public static class Tensors
{
    public static Tensor From(float[] data, long[] shape, Device device)
    {
        using var view = tensor(data, shape);
        return view.to(device).clone();
    }

    public static Tensor From(float[] data, Device device) => From(data, [data.LongLength], device);

    public static Tensor From(long[] data, Device device)
    {
        using var view = tensor(data);
        return view.to(device).clone();
    }
}
