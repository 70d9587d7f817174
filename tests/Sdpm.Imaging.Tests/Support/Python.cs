using System.Diagnostics;

namespace Sdpm.Imaging.Tests.Support;

/// <summary>Runs Debian's /usr/bin/python3 (with python3-nibabel, python3-pydicom, python3-pil) as an independent tool.</summary>
public static class Python
{
    public const string Executable = "/usr/bin/python3";

    /// <summary>Runs a script with arguments and returns its stdout; fails the test with stderr on a non-zero exit.</summary>
    public static string Run(string script, params string[] args)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install python3, python3-nibabel, python3-pydicom and python3-pil (apt).");
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "python did not finish within 60 s");
        Assert.True(p.ExitCode == 0, $"python failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}
