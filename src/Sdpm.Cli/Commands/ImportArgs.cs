using Sdpm.Imaging.Display;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Cli.Commands;

/// <summary>The import options shared by verbs that read volumes (limits, PNG-stack window and spacing).</summary>
internal static class ImportArgs
{
    public const string Usage = "[--window L,W|preset] [--spacing X,Y,Z] [--max-bytes N] [--max-voxels N] [--max-dim N] [--no-dcm2niix]";

    public static (ImportLimits Limits, ImportOptions Options) Read(ArgReader args)
    {
        var d = ImportLimits.Default;
        var limits = new ImportLimits(
            MaxBytes: PositiveLong(args, "--max-bytes") ?? d.MaxBytes,
            MaxVoxels: PositiveLong(args, "--max-voxels") ?? d.MaxVoxels,
            MaxDimPerAxis: args.Int("--max-dim", 1, 1 << 20) ?? d.MaxDimPerAxis,
            MaxFiles: d.MaxFiles);
        Window? window = null;
        if (args.Option("--window") is { } w)
        {
            try { window = Window.Parse(w); }
            catch (FormatException e) { throw new UsageException(e.Message); }
        }
        var spacing = args.Numbers("--spacing", 3) is { } s ? new Spacing(s[0], s[1], s[2]) : (Spacing?)null;
        var dcm2niix = args.Flag("--no-dcm2niix") ? "" : null;
        return (limits, new ImportOptions(window, spacing, dcm2niix));
    }

    private static long? PositiveLong(ArgReader args, string name)
    {
        var s = args.Option(name);
        if (s is null) return null;
        if (!long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) || v < 1)
            throw new UsageException($"{name} must be an integer from 1 to {long.MaxValue}, got '{s}'.");
        return v;
    }
}
