using System.Diagnostics;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm synth</c>: writes a seeded synthetic NCCT cohort (images, masks, manifest.csv).</summary>
public sealed class SynthCommand : ICommand
{
    public string Name => "synth";
    public string Usage => "synth --out DIR --cases N --sites S --seed K [--lesion infarct|hemorrhage|mixed] [--size 128|160|256|512] [--slices Z] [--lesion-free F] [--variation standard|wide] [--fov MM] [--slice-mm MM]";
    public string Summary => "Generate a synthetic head CT cohort with lesion masks and a manifest.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var outDir = a.Required("--out");
        var cases = a.Int("--cases", 1, 100_000) ?? throw new UsageException("--cases is required.");
        var sites = a.Int("--sites", 1, 100) ?? throw new UsageException("--sites is required.");
        var seed = a.ULong("--seed") ?? throw new UsageException("--seed is required.");
        var lesion = a.Option("--lesion") switch
        {
            null or "mixed" => LesionMode.Mixed,
            "infarct" => LesionMode.Infarct,
            "hemorrhage" or "haemorrhage" => LesionMode.Hemorrhage,
            var other => throw new UsageException($"--lesion must be infarct, hemorrhage or mixed, got '{other}'."),
        };
        var size = a.Int("--size", 1, 4096);
        if (size is { } s && s is not (128 or 160 or 256 or 512)) throw new UsageException($"--size must be 128, 160, 256 or 512, got {s}.");
        var slices = a.Int("--slices", 1, 512);
        var free = a.Option("--lesion-free") is { } f
            ? double.TryParse(f, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v is >= 0 and <= 1
                ? v : throw new UsageException($"--lesion-free must be a fraction from 0 to 1, got '{f}'.")
            : 0.15;
        var variation = a.Option("--variation") switch
        {
            null or "standard" => PhantomVariation.Standard,
            "wide" => PhantomVariation.Wide,
            var other => throw new UsageException($"--variation must be standard or wide, got '{other}'."),
        };
        var fov = Millimetres(a.Option("--fov"), "--fov", 150, 400);
        var thickness = Millimetres(a.Option("--slice-mm"), "--slice-mm", 0.5, 10);
        a.Done();
        if (sites > cases) throw new UsageException($"--sites ({sites}) cannot exceed --cases ({cases}).");
        if (File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder.");

        var options = new CohortOptions(cases, sites, seed, lesion, size, slices, free, variation, fov, thickness);
        var sw = Stopwatch.StartNew();
        var entries = CohortGenerator.Write(outDir, options, ct: ctx.Cancellation);
        var bySite = entries.GroupBy(e => e.Site).Select(g => $"{g.Key}: {g.Count()}");
        var byLesion = entries.GroupBy(e => e.Lesion).Select(g => $"{CohortManifest.Name(g.Key)}: {g.Count()}");
        ctx.Out.WriteLine($"wrote {entries.Count} cases to {Path.GetFullPath(outDir)} in {sw.Elapsed.TotalSeconds:0.0} s");
        ctx.Out.WriteLine($"  sites   {string.Join(", ", bySite)}");
        ctx.Out.WriteLine($"  lesions {string.Join(", ", byLesion)}");
        ctx.Out.WriteLine($"  manifest {Path.Combine(outDir, CohortManifest.FileName)}");
        return CliApp.Success;
    }

    private static double? Millimetres(string? text, string flag, double min, double max)
    {
        if (text is null) return null;
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var mm) && mm >= min && mm <= max
            ? mm : throw new UsageException($"{flag} must be {min}..{max} mm, got '{text}'.");
    }
}
