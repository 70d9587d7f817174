using System.Globalization;
using System.Text.Json;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm inspect</c>: format, geometry, HU statistics and de-identification findings of an input.</summary>
public sealed class InspectCommand : ICommand
{
    public string Name => "inspect";
    public string Usage => $"inspect PATH [--json] {ImportArgs.Usage}";
    public string Summary => "Show format, dims, spacing, datatype, HU statistics and de-identification findings.";

    public int Run(CommandContext ctx)
    {
        var json = ctx.Args.Flag("--json");
        var (limits, options) = ImportArgs.Read(ctx.Args);
        var path = ctx.Args.Positionals(1, 1, "PATH")[0];
        var v = VolumeImporter.Open(path, limits, options, ctx.Cancellation);
        if (json) WriteJson(ctx.Out, v);
        else WriteText(ctx.Out, path, v);
        return CliApp.Success;
    }

    private static void WriteText(TextWriter o, string path, ImportedVolume v)
    {
        var src = v.SourceGeometry;
        var s = v.Statistics;
        o.WriteLine($"path         {path}");
        o.WriteLine($"format       {v.Format}");
        o.WriteLine($"dims         {src.Dims.X} x {src.Dims.Y} x {src.Dims.Z}");
        o.WriteLine(Inv($"spacing      {src.Spacing.X:0.####} x {src.Spacing.Y:0.####} x {src.Spacing.Z:0.####} mm"));
        o.WriteLine($"datatype     {v.Datatype}");
        o.WriteLine($"orientation  {v.SourceOrientation} (stored) -> {Orientation.Canonical} (canonical, {v.Hu.Dims})");
        o.WriteLine(Inv($"values       min {s.Min:0.###}  max {s.Max:0.###}  mean {s.Mean:0.###}  sum {s.Sum:0.###}"));
        if (v.Mask is not null) o.WriteLine($"mask         {Sdpm.Imaging.Masks.MaskVolume.CountVoxels(v.Mask)} voxels");
        foreach (var note in v.Notes) o.WriteLine($"note         {note}");
        if (v.Findings.Count == 0) o.WriteLine("de-identification: no identifying information found");
        else
        {
            o.WriteLine($"de-identification: {v.Findings.Count} finding(s)");
            foreach (var f in v.Findings) o.WriteLine($"  {f.Tag,-14} {f.Name}: {f.Detail}");
        }
    }

    private static void WriteJson(TextWriter o, ImportedVolume v)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            var src = v.SourceGeometry;
            w.WriteStartObject();
            w.WriteString("format", v.Format);
            w.WriteStartArray("dims");
            w.WriteNumberValue(src.Dims.X); w.WriteNumberValue(src.Dims.Y); w.WriteNumberValue(src.Dims.Z);
            w.WriteEndArray();
            w.WriteStartArray("spacing");
            w.WriteNumberValue(Math.Round(src.Spacing.X, 6)); w.WriteNumberValue(Math.Round(src.Spacing.Y, 6)); w.WriteNumberValue(Math.Round(src.Spacing.Z, 6));
            w.WriteEndArray();
            w.WriteString("datatype", v.Datatype);
            w.WriteNumber("min", v.Statistics.Min);
            w.WriteNumber("max", v.Statistics.Max);
            w.WriteNumber("mean", v.Statistics.Mean);
            w.WriteNumber("sum", v.Statistics.Sum);
            w.WriteStartArray("phi");
            foreach (var f in v.Findings)
            {
                w.WriteStartObject();
                w.WriteString("tag", f.Tag);
                w.WriteString("name", f.Name);
                w.WriteString("detail", f.Detail);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("orientation", v.SourceOrientation);
            w.WriteStartArray("canonical_dims");
            w.WriteNumberValue(v.Hu.Dims.X); w.WriteNumberValue(v.Hu.Dims.Y); w.WriteNumberValue(v.Hu.Dims.Z);
            w.WriteEndArray();
            if (v.Mask is not null) w.WriteNumber("mask_voxels", Sdpm.Imaging.Masks.MaskVolume.CountVoxels(v.Mask));
            w.WriteStartArray("notes");
            foreach (var n in v.Notes) w.WriteStringValue(n);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        o.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
