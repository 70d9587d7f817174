using Sdpm.Imaging.Import;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm convert</c>: any supported input to an int16 HU NIfTI in canonical orientation.</summary>
public sealed class ConvertCommand : ICommand
{
    public string Name => "convert";
    public string Usage => $"convert IN OUT.nii.gz [--mask-out MASK.nii.gz] [--nifti2] {ImportArgs.Usage}";
    public string Summary => "Convert NIfTI, DICOM (folder, file or zip) or a PNG stack to NIfTI in HU, canonical orientation.";

    public int Run(CommandContext ctx)
    {
        var maskOut = ctx.Args.Option("--mask-out");
        var nifti2 = ctx.Args.Flag("--nifti2");
        var (limits, options) = ImportArgs.Read(ctx.Args);
        var paths = ctx.Args.Positionals(2, 2, "IN and OUT.nii.gz");
        var output = paths[1];
        CheckNiftiName(output, "OUT");
        if (maskOut is not null) CheckNiftiName(maskOut, "--mask-out");

        var v = VolumeImporter.Open(paths[0], limits, options, ctx.Cancellation);
        if (maskOut is not null && v.Mask is null)
            throw new UsageException("--mask-out was given but the input has no mask (only PNG stacks with a mask folder do).");
        var write = new NiftiWriteOptions(Version: nifti2 ? 2 : 1, Description: $"sdpm convert from {v.Format}");
        NiftiWriter.Write(output, v.Hu, write);
        if (maskOut is not null) MaskVolume.WriteNifti(maskOut, v.Mask!, v.Hu.Geometry);
        ctx.Out.WriteLine($"wrote {output}: {v.Hu.Dims} int16 HU, {v.Hu.Spacing}, from {v.Format}");
        foreach (var note in v.Notes) ctx.Out.WriteLine($"note: {note}");
        if (v.Findings.Count > 0)
            ctx.Error.WriteLine($"warning: the input holds {v.Findings.Count} possibly identifying item(s) (see sdpm inspect); the output header carries none of them.");
        return CliApp.Success;
    }

    private static void CheckNiftiName(string path, string what)
    {
        if (!path.EndsWith(".nii", StringComparison.OrdinalIgnoreCase) && !path.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"{what} must end in .nii or .nii.gz, got '{path}'.");
    }
}
