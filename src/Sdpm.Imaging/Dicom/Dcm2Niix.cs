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

    /// <summary>Converts the DICOM files in a folder into one .nii.gz in outputDir and returns its path. The process is
    /// killed on cancellation (<see cref="OperationCanceledException"/>) or after the timeout (<see cref="ImagingException"/>).</summary>
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
        using var timeoutCts = new CancellationTokenSource(timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        // The output is read with the process's lifetime, not the caller's token: cancelling kills the process,
        // which closes the pipes and ends the reads.
        var stdout = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = p.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            p.WaitForExitAsync(linked.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } // already exited
            p.WaitForExit(5000);
            ct.ThrowIfCancellationRequested();
            throw new ImagingException(ImagingError.Unsupported, $"dcm2niix did not finish within {timeout.TotalSeconds:0} s.");
        }
        p.WaitForExit(); // flushes the redirected output
        var log = (stdout.GetAwaiter().GetResult() + "\n" + stderr.GetAwaiter().GetResult()).Split('\n').Select(l => l.Trim())
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
