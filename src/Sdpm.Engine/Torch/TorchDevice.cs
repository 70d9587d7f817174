using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Torch;

/// <summary>Resolves the device setting (auto | cpu | cuda | cuda:N) to a torch device.</summary>
public static class TorchDevice
{
    /// <summary>The device for a setting; "auto" picks CUDA when this process loaded a CUDA libtorch and sees a GPU.</summary>
    /// <exception cref="ArgumentException">The setting is malformed, or CUDA was asked for and is not available.</exception>
    public static Device Resolve(string? setting)
    {
        TorchRuntime.EnsureInitialized();
        var s = (setting ?? "auto").Trim().ToLowerInvariant();
        if (s == "auto") return CudaAvailable() ? CUDA : CPU;
        if (s == "cpu") return CPU;
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!CudaAvailable())
                throw new ArgumentException("CUDA was requested but this build has no CUDA libtorch or no GPU is visible (build with -p:SdpmTorchBackend=cuda).");
            if (s == "cuda") return CUDA;
            if (int.TryParse(s[5..], out var n) && n >= 0 && n < torch.cuda.device_count()) return new Device(DeviceType.CUDA, n);
            throw new ArgumentException($"device '{setting}': no such CUDA device (found {torch.cuda.device_count()}).");
        }
        throw new ArgumentException($"device must be auto, cpu, cuda or cuda:N, got '{setting}'.");
    }

    /// <summary>A short name for logs, e.g. "cpu (2 threads)" or "cuda:0".</summary>
    public static string Describe(Device device) =>
        device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, device.index)}" : $"cpu ({torch.get_num_threads()} threads)";

    private static bool CudaAvailable()
    {
        try { return torch.cuda.is_available(); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException) { return false; }
    }
}
