using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Sdpm.Imaging.Tests.Itk;

/// <summary>What ITK's NiftiImageIO made of a file (LPS physical space, as ITK always uses), or why it refused it.</summary>
public sealed record ItkRead(string Version, string? Error, int[] Size, double[] Spacing, double[] Origin, double[] Direction,
    double[] Values, double Min, double Max, double Sum, string ComponentType)
{
    /// <summary>ITK's direction matrix element (row r, column c).</summary>
    public double D(int r, int c) => Direction[3 * r + c];

    /// <summary>ITK's physical point (LPS mm) of a voxel index: origin + direction * (spacing ∘ index).</summary>
    public (double L, double P, double S) Physical(int i, int j, int k)
    {
        var idx = new[] { i * Spacing[0], j * Spacing[1], k * Spacing[2] };
        var p = new double[3];
        for (var r = 0; r < 3; r++) p[r] = Origin[r] + D(r, 0) * idx[0] + D(r, 1) * idx[1] + D(r, 2) * idx[2];
        return (p[0], p[1], p[2]);
    }
}

/// <summary>Builds (once per source hash, cached under the temp folder) and runs itk_geometry.cpp, a small C++ program that
/// reads a NIfTI file with itk::ImageFileReader&lt;itk::Image&lt;float,3&gt;&gt; and NiftiImageIO: the same reader 3D Slicer
/// and ITK-SNAP use. Needs Debian's g++ and libinsighttoolkit5-dev; a missing one fails the test, naming the package.</summary>
public static class ItkGeometry
{
    public const string AptPackages = "g++ libinsighttoolkit5-dev";
    private const string Compiler = "/usr/bin/g++";
    private static readonly Lazy<string> Binary = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly string[] ItkLibraries = ["ITKIONIFTI", "ITKIOImageBase", "ITKCommon", "itkvnl_algo", "itkvnl", "itksys"];

    /// <summary>Reads a file with ITK and reports the voxel values (as float) at the given indices.</summary>
    public static ItkRead Read(string niftiPath, params (int I, int J, int K)[] probes)
    {
        var psi = new ProcessStartInfo(Binary.Value)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(niftiPath);
        foreach (var (i, j, k) in probes) psi.ArgumentList.Add($"{i},{j},{k}");
        var (code, stdout, stderr) = RunProcess(psi, 30_000);
        if (code is not (0 or 2))
            Assert.Fail($"itk_geometry exited {code} on {niftiPath}: {stderr}{stdout}" +
                (stderr.Contains("error while loading shared libraries") ? $" (install {AptPackages} with apt)" : ""));
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        var version = root.GetProperty("itk").GetString()!;
        if (code == 2) return new ItkRead(version, root.GetProperty("error").GetString() + (stderr.Length > 0 ? " | stderr: " + stderr.Trim() : ""), [], [], [], [], [], 0, 0, 0, "");
        static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetDouble())];
        return new ItkRead(version, null,
            [.. root.GetProperty("size").EnumerateArray().Select(x => x.GetInt32())],
            Doubles(root.GetProperty("spacing")), Doubles(root.GetProperty("origin")), Doubles(root.GetProperty("direction")),
            Doubles(root.GetProperty("values")), root.GetProperty("min").GetDouble(), root.GetProperty("max").GetDouble(),
            root.GetProperty("sum").GetDouble(), root.GetProperty("componentType").GetString()!);
    }

    private static string Build()
    {
        Assert.True(File.Exists(Compiler), $"{Compiler} is missing: the ITK cross-check compiles a small C++ program; install {AptPackages} (apt).");
        var include = Directory.Exists("/usr/include")
            ? Directory.GetDirectories("/usr/include", "ITK-*").Where(d => File.Exists(Path.Combine(d, "itkNiftiImageIO.h"))).Order().LastOrDefault()
            : null;
        Assert.True(include is not null, $"ITK's headers (/usr/include/ITK-*/itkNiftiImageIO.h) are missing: install {AptPackages} (apt).");
        var version = Path.GetFileName(include)!["ITK-".Length..];
        string[] libDirs = ["/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];
        var libDir = libDirs.FirstOrDefault(d => File.Exists(Path.Combine(d, $"libITKIONIFTI-{version}.so")));
        Assert.True(libDir is not null, $"ITK's libraries (libITKIONIFTI-{version}.so) are missing: install {AptPackages} (apt).");

        var source = FindSource();
        List<string> args = ["-std=c++17", "-O1", "-Wall", "-Wextra", "-I", include!, source, "-o", "OUTPUT", "-L", libDir!, $"-Wl,-rpath,{libDir}"];
        args.AddRange(ItkLibraries.Select(l => $"-l{l}-{version}"));
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(File.ReadAllText(source) + "\n" + string.Join(' ', args))))[..16].ToLowerInvariant();
        var dir = Path.Combine(Path.GetTempPath(), "sdpm-itk-geometry", key);
        var binary = Path.Combine(dir, "itk_geometry");
        if (File.Exists(binary)) return binary;

        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $"itk_geometry.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var psi = new ProcessStartInfo(Compiler) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a == "OUTPUT" ? temp : a);
        var (code, stdout, stderr) = RunProcess(psi, 180_000);
        if (code != 0)
        {
            File.Delete(temp);
            Assert.Fail($"Compiling {source} against ITK {version} failed ({code}); needs {AptPackages} (apt):\n{stderr}{stdout}");
        }
        File.Move(temp, binary, overwrite: true); // atomic: a parallel run sees the old binary or the whole new one
        return binary;
    }

    private static string FindSource([CallerFilePath] string thisFile = "")
    {
        const string relative = "Itk/itk_geometry.cpp";
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Sdpm.Imaging.Tests.csproj")) && File.Exists(Path.Combine(d.FullName, relative)))
                return Path.Combine(d.FullName, relative);
        }
        var beside = Path.Combine(Path.GetDirectoryName(thisFile) ?? ".", "itk_geometry.cpp");
        Assert.True(File.Exists(beside), $"Cannot find tests/Sdpm.Imaging.Tests/{relative} above {AppContext.BaseDirectory}.");
        return beside;
    }

    private static (int Code, string Stdout, string Stderr) RunProcess(ProcessStartInfo psi, int timeoutMs)
    {
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{psi.FileName} did not finish within {timeoutMs / 1000} s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
