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
            MaxBytes: (long?)args.ULong("--max-bytes") ?? d.MaxBytes,
            MaxVoxels: (long?)args.ULong("--max-voxels") ?? d.MaxVoxels,
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
}
