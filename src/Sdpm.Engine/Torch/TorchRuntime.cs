using System.Runtime.InteropServices;

namespace Sdpm.Engine.Torch;

/// <summary>Process-wide libtorch settings that must be in place before the first convolution.</summary>
/// <remarks>On this project's CPUs (AMD EPYC with AVX-512), libtorch 2.10's oneDNN AVX-512 convolution backward returns
/// run-to-run different input gradients, sometimes NaN (measured: the same conv, same input, 8 backward passes, 4
/// distinct results); capped at AVX2 it is exact and deterministic. So the engine caps oneDNN at AVX2 unless
/// DNNL_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA is already set (set it to ALL to lift the cap on a CPU known to be fine).
/// oneDNN reads the variable when it creates its first primitive, so this runs before any engine tensor work.</remarks>
public static class TorchRuntime
{
    private static int _initialized;

    /// <summary>The ISA cap in force ("AVX2" unless overridden by the environment).</summary>
    public static string OneDnnIsa { get; private set; } = "";

    public static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref _initialized, 1) == 1) return;
        var current = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA");
        OneDnnIsa = current ?? "AVX2";
        if (current is null && OperatingSystem.IsLinux())
        {
            // .NET's Environment.SetEnvironmentVariable does not reach native getenv on Linux: set it in libc.
            _ = setenv("ONEDNN_MAX_CPU_ISA", OneDnnIsa, 0);
            _ = setenv("DNNL_MAX_CPU_ISA", OneDnnIsa, 0);
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv([MarshalAs(UnmanagedType.LPStr)] string name, [MarshalAs(UnmanagedType.LPStr)] string value, int overwrite);
}
