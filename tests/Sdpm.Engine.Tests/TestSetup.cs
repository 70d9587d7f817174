using System.Runtime.CompilerServices;
using Sdpm.Engine.Torch;

namespace Sdpm.Engine.Tests;

internal static class TestSetup
{
    /// <summary>Applies the engine's libtorch settings before any test touches torch directly.</summary>
    [ModuleInitializer]
    internal static void Initialize() => TorchRuntime.EnsureInitialized();
}
