using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Sdpm.Imaging.Display;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Preprocessing;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm bench-imaging</c>: times reading a 512x512x40 int16 .nii.gz and rendering one windowed slice to PNG.</summary>
public sealed class BenchImagingCommand : ICommand
{
    public string Name => "bench-imaging";
    public string Usage => "bench-imaging [--json] [--runs N]";
    public string Summary => "Benchmark: read a 512x512x40 int16 .nii.gz to slice-ready form, one slice to PNG, one slice from the store.";

    public int Run(CommandContext ctx)
    {
        var json = ctx.Args.Flag("--json");
        var runs = ctx.Args.Int("--runs", 1, 1000) ?? 7;
        ctx.Args.Done();

        var dir = Directory.CreateTempSubdirectory("sdpm-bench-").FullName;
        try
        {
            var path = Path.Combine(dir, "bench_512x512x40.nii.gz");
            // Written in RAS (as nibabel and dcm2niix write), so the import includes the reorientation to canonical.
            var volume = Orientation.Reorient(BenchVolume(), "RAS");
            NiftiWriter.Write(path, volume, new NiftiWriteOptions(Compression: CompressionLevel.Optimal));
            var fileBytes = new FileInfo(path).Length;

            ImportedVolume? imported = null;
            var read = Time(runs, () => imported = VolumeImporter.Open(path, ct: ctx.Cancellation));
            var hu = imported!.Hu;
            var z = hu.Dims.Z / 2;
            var pngBytes = 0;
            var png = Time(Math.Max(runs, 20), () => pngBytes = SliceRenderer.RenderPng(hu, z, WindowPresets.Stroke).Length);
            var brainBytes = 0;
            var brain = Time(Math.Max(runs, 20), () => brainBytes = SliceRenderer.RenderPng(hu, z, WindowPresets.Brain).Length);
            var storePath = Path.Combine(dir, "bench.sdpmvol");
            VolumeStore.Write(storePath, hu, ctx.Cancellation);
            var storeSlice = Time(Math.Max(runs, 20), () => _ = VolumeStore.ReadSlice<short>(storePath, z));
            var storePng = Time(Math.Max(runs, 20), () => pngBytes = SliceRenderer.RenderPng(
                new Volume<short>(new Dims(hu.Dims.X, hu.Dims.Y, 1), hu.Affine, VolumeStore.ReadSlice<short>(storePath, z)), 0, WindowPresets.Stroke).Length);

            if (json)
            {
                using var ms = new MemoryStream();
                using (var w = new Utf8JsonWriter(ms))
                {
                    w.WriteStartObject();
                    w.WriteString("volume", "512x512x40 int16 .nii.gz");
                    w.WriteNumber("file_bytes", fileBytes);
                    w.WriteNumber("runs", runs);
                    w.WriteNumber("read_ms_median", Math.Round(read.Median, 2));
                    w.WriteNumber("read_ms_min", Math.Round(read.Min, 2));
                    w.WriteNumber("png_ms_median", Math.Round(png.Median, 3));
                    w.WriteNumber("png_ms_min", Math.Round(png.Min, 3));
                    w.WriteNumber("png_bytes", pngBytes);
                    w.WriteNumber("png_brain_ms_median", Math.Round(brain.Median, 3));
                    w.WriteNumber("png_brain_bytes", brainBytes);
                    w.WriteNumber("store_slice_ms_median", Math.Round(storeSlice.Median, 3));
                    w.WriteNumber("store_slice_png_ms_median", Math.Round(storePng.Median, 3));
                    w.WriteNumber("processors", Environment.ProcessorCount);
                    w.WriteEndObject();
                }
                ctx.Out.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
            }
            else
            {
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"read 512x512x40 int16 .nii.gz ({fileBytes / 1e6:0.0} MB) (stored RAS) to canonical HU volume: median {read.Median:0.0} ms, min {read.Min:0.0} ms ({runs} runs; target < 1000 ms)"));
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"one 512x512 slice, stroke window, to PNG ({pngBytes / 1e3:0.0} kB): median {png.Median:0.00} ms, min {png.Min:0.00} ms ({Math.Max(runs, 20)} runs; target < 15 ms)"));
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"the same slice, brain window ({brainBytes / 1e3:0.0} kB): median {brain.Median:0.00} ms, min {brain.Min:0.00} ms"));
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"one 512x512 slice read from the slice store: median {storeSlice.Median:0.000} ms; read + stroke PNG: median {storePng.Median:0.00} ms"));
                ctx.Out.WriteLine($"processors: {Environment.ProcessorCount}");
            }
            return CliApp.Success;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // A realistic 512x512x40 head: the 256 phantom upsampled, with fresh 512-level noise so it compresses like a scan.
    private static Volume<short> BenchVolume()
    {
        var c = CohortGenerator.GenerateCase(new CohortOptions(1, 1, 2024, LesionMode.Infarct, Size: 256, Slices: 40, LesionFreeFraction: 0), 0);
        var big = Resample.InPlaneLinear(c.Image, 512, 512);
        var rng = new Prng(7);
        var v = big.Voxels;
        for (var i = 0; i < v.Length; i++) v[i] = (short)Math.Clamp(v[i] + Math.Round(rng.Gaussian() * 4), -1024, 3071);
        return big;
    }

    private static (double Median, double Min) Time(int runs, Action action)
    {
        action(); // warm-up (JIT, file cache)
        var t = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            t[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(t);
        return (t[runs / 2], t[0]);
    }
}
