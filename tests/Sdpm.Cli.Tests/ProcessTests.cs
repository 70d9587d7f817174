using System.Diagnostics;
using System.Text.Json;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Cli.Tests;

/// <summary>Runs the built sdpm executable as a separate process.</summary>
public class ProcessTests
{
    private static (int Code, string Out, string Err) Sdpm(params string[] args)
    {
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "sdpm.exe" : "sdpm");
        return File.Exists(apphost) ? Run(new ProcessStartInfo(apphost), args, 60_000)
            : Run(new ProcessStartInfo("dotnet"), [Path.Combine(dir, "sdpm.dll"), .. args], 60_000);
    }

    private static (int Code, string Out, string Err) Run(ProcessStartInfo psi, IEnumerable<string> args, int timeoutMs)
    {
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(timeoutMs));
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>Runs the repository's ./sdpm launcher (README's way to call the CLI) under bash.</summary>
    private static (int Code, string Out, string Err) Launcher(params string[] args)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sdpm.Portal.sln"))) root = root.Parent;
        Assert.NotNull(root);
        // 5 minutes: the launcher builds the CLI first when the sources are newer than its last build.
        return Run(new ProcessStartInfo("bash") { WorkingDirectory = Path.GetTempPath() }, [Path.Combine(root.FullName, "sdpm"), .. args], 300_000);
    }

    [Fact]
    public void TheLauncherRunsTheCliFromAnyFolderWithCleanJsonAndExitCodes()
    {
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File("v.nii.gz"), new Volume<short>(new Dims(2, 3, 4), Affine.Canonical(new Spacing(1, 1, 2))));
        var ok = Launcher("inspect", dir.File("v.nii.gz"), "--json");
        Assert.True(ok.Code == 0, ok.Err);
        using var doc = JsonDocument.Parse(ok.Out); // nothing but the JSON on stdout
        Assert.Equal([2, 3, 4], doc.RootElement.GetProperty("dims").EnumerateArray().Select(e => e.GetInt32()));
        var usage = Launcher("train", "--data", dir.Path, "--out", dir.File("run"), "--recipe", "quick");
        Assert.Equal(2, usage.Code);
        Assert.StartsWith("error: --recipe must be", usage.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last());
    }

    [Fact]
    public void TheExecutableInspectsAFileAndFailsCleanlyOnBadInput()
    {
        using var dir = new TempDir();
        NiftiWriter.Write(dir.File("v.nii.gz"), new Volume<short>(new Dims(3, 3, 3), Affine.Canonical(new Spacing(1, 1, 2))));
        var ok = Sdpm("inspect", dir.File("v.nii.gz"), "--json");
        Assert.Equal(0, ok.Code);
        using var doc = JsonDocument.Parse(ok.Out);
        Assert.Equal(27, doc.RootElement.GetProperty("dims").EnumerateArray().Aggregate(1, (a, e) => a * e.GetInt32()));

        File.WriteAllText(dir.File("bad.nii.gz"), "not a volume");
        var bad = Sdpm("inspect", dir.File("bad.nii.gz"));
        Assert.Equal(1, bad.Code);
        Assert.Single(bad.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", bad.Err);

        Assert.Equal(2, Sdpm("nope").Code);
    }
}
