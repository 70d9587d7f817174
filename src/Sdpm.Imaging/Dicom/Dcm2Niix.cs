using System.Diagnostics;

namespace Sdpm.Imaging.Dicom;

/// <summary>Converts DICOM that we do not read directly (compressed, multi-frame) with the dcm2niix tool, when installed.</summary>
public static class Dcm2Niix
{
    /// <summary>The dcm2niix executable: the configured path, or the first on PATH; null when unavailable or disabled ("").</summary>
    public static string? Locate(string? configured)
    {
        if (configured is not null) return configured.Length > 0 && File.Exists(configured) ? configured : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dcm2niix");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Converts the DICOM files in a folder into one .nii.gz in outputDir and returns its path.</summary>
    public static string Convert(string executable, string inputDir, string outputDir, TimeSpan timeout, CancellationToken ct = default)
    {
        Directory.CreateDirectory(outputDir);
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-z", "y", "-b", "n", "-f", "volume", "-o", outputDir, inputDir }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new ImagingException(ImagingError.Unsupported, "dcm2niix could not be started.");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new ImagingException(ImagingError.Unsupported, $"dcm2niix did not finish within {timeout.TotalSeconds:0} s.");
        }
        var log = (stdout.Result + "\n" + stderr.Result).Split('\n').Select(l => l.Trim())
            .LastOrDefault(l => l.StartsWith("Error", StringComparison.OrdinalIgnoreCase) || l.StartsWith("Warning", StringComparison.OrdinalIgnoreCase)) ?? "";
        var outputs = Directory.GetFiles(outputDir, "*.nii*");
        if (outputs.Length == 0)
            throw new ImagingException(ImagingError.Unsupported, $"dcm2niix could not convert the series (exit code {p.ExitCode}). {log}".Trim());
        if (outputs.Length > 1)
            throw new ImagingException(ImagingError.Inconsistent,
                $"dcm2niix split the input into {outputs.Length} volumes (mixed series, tilt or uneven spacing); upload one series at a time.");
        return outputs[0];
    }
}
