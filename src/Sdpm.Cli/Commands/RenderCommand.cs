using Sdpm.Imaging.Display;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm render</c>: one slice (or a row of slices) to PNG through a window, optionally with a mask overlay.</summary>
public sealed class RenderCommand : ICommand
{
    public string Name => "render";
    public string Usage => $"render IN --out PNG [--slice K | --montage N] [--level-width L,W|--preset brain|stroke|subdural|bone] [--mask MASK.nii.gz] [--opacity 0.4] {ImportArgs.Usage}";
    public string Summary => "Render a windowed axial slice (or a montage) to PNG, optionally with a mask overlay.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var output = a.Required("--out");
        var slice = a.Int("--slice", 0, int.MaxValue);
        var montage = a.Int("--montage", 1, 64);
        var windowText = a.Option("--level-width") ?? a.Option("--preset") ?? "brain";
        Window window;
        try { window = Window.Parse(windowText); }
        catch (FormatException e) { throw new UsageException(e.Message); }
        var maskPath = a.Option("--mask");
        var opacity = a.Option("--opacity") is { } o
            ? double.TryParse(o, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var op) && op is >= 0 and <= 1
                ? op : throw new UsageException($"--opacity must be 0..1, got '{o}'.")
            : 0.4;
        var (limits, options) = ImportArgs.Read(a);
        var input = a.Positionals(1, 1, "IN")[0];

        var v = VolumeImporter.Open(input, limits, options, ctx.Cancellation);
        var mask = maskPath is null ? v.Mask : NiftiReader.ReadMask(maskPath, limits);
        if (mask is not null && !mask.Geometry.Matches(v.Hu.Geometry))
            throw new UsageException(mask.Dims != v.Hu.Dims
                ? $"the mask ({mask.Dims}) does not match the image ({v.Hu.Dims})."
                : $"the mask's grid (affine {mask.Affine}) is not the image's grid (affine {v.Hu.Affine}): is it from another case?");
        var z = v.Hu.Dims.Z;
        if (slice is { } k && k >= z) throw new UsageException($"--slice {k} is outside 0..{z - 1}.");
        byte[] png;
        if (montage is { } n)
        {
            var picks = Enumerable.Range(0, Math.Min(n, z)).Select(i => (int)Math.Round((i + 0.5) * z / Math.Min(n, z) - 0.5)).ToList();
            png = SliceRenderer.RenderMontage(v.Hu, picks, window, mask, opacity);
        }
        else
        {
            var k2 = slice ?? z / 2;
            png = mask is null ? SliceRenderer.RenderPng(v.Hu, k2, window) : Overlay.RenderPng(v.Hu, k2, window, mask, OverlayColor.Red, opacity);
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(output))!;
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(output, png);
        ctx.Out.WriteLine($"wrote {output} ({png.Length} bytes, window {window})");
        return CliApp.Success;
    }
}
