using Sdpm.Engine.Contracts;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Sampling;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Preprocessing;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Tests;

/// <summary>Preprocessing in a physical field (<see cref="PreprocessingOptions.FieldMm"/>): a head appears at one scale in
/// the network's input whatever the scan's matrix and field of view, and predictions land where they were made.</summary>
public class PhysicalFieldTests
{
    /// <summary>A scan of a round head of <paramref name="radiusMm"/> (brain at 40 HU, air around) centred on the scan.</summary>
    private static Volume<short> Head(int n, double spacing, double radiusMm, int slices = 2)
    {
        var v = new Volume<short>(new Dims(n, n, slices), Affine.Canonical(new Spacing(spacing, spacing, 5)));
        var c = (n - 1) / 2.0;
        for (var z = 0; z < slices; z++)
        {
            var s = v.Slice(z);
            for (var y = 0; y < n; y++)
                for (var x = 0; x < n; x++)
                    s[y * n + x] = Math.Sqrt((x - c) * (x - c) + (y - c) * (y - c)) * spacing <= radiusMm ? (short)40 : (short)-1000;
        }
        return v;
    }

    private static int Inside(float[] prepared, int size) => prepared.Take(size * size).Count(v => v > -1f);

    [Fact]
    public void AHeadCoversTheSameNetworkPixelsAtAnyMatrixAndFieldOfViewInAPhysicalField()
    {
        const int size = 128;
        const double field = 240, radius = 70;
        var expected = Math.PI * Math.Pow(radius / (field / size), 2); // the disc's area in network pixels, computed apart
        var field128 = Preprocessing.PrepareImage(Head(128, 1.9, radius), size, new PreprocessingOptions(FieldMm: field));
        var field512 = Preprocessing.PrepareImage(Head(512, 0.45, radius), size, new PreprocessingOptions(FieldMm: field));
        var field160 = Preprocessing.PrepareImage(Head(160, 1.4, radius), size, new PreprocessingOptions(FieldMm: field));
        Assert.InRange(Inside(field128, size), expected * 0.97, expected * 1.03);
        Assert.InRange(Inside(field512, size), expected * 0.97, expected * 1.03);
        Assert.InRange(Inside(field160, size), expected * 0.97, expected * 1.03);

        // The whole matrix resampled (no field): the same head's size in pixels follows the scan's field of view.
        var whole128 = Inside(Preprocessing.PrepareImage(Head(128, 1.9, radius), size, new PreprocessingOptions()), size);
        var whole512 = Inside(Preprocessing.PrepareImage(Head(512, 0.45, radius), size, new PreprocessingOptions()), size);
        double AtScanScale(int n, double spacing) => Math.PI * Math.Pow(radius / (n * spacing / size), 2);
        Assert.InRange(whole128, AtScanScale(128, 1.9) * 0.97, AtScanScale(128, 1.9) * 1.03); // 243 mm in 128 pixels
        Assert.InRange(whole512, AtScanScale(512, 0.45) * 0.97, AtScanScale(512, 0.45) * 1.03); // 230 mm in 128 pixels
        Assert.True(whole512 > whole128 * 1.05, $"{whole128} vs {whole512}");
    }

    [Fact]
    public void PlacingAndTakingBackIsExactInsideTheFieldAndFillsOutsideIt()
    {
        var scan = new Volume<short>(new Dims(100, 80, 2), Affine.Canonical(new Spacing(2, 2, 5)));
        for (var i = 0; i < scan.Voxels.Length; i++) scan.Voxels[i] = (short)(i % 1000);
        // 120 mm = 60 x 60 pixels: cropped in both directions.
        var crop = PhysicalField.For(scan.Geometry, 120);
        Assert.Equal((60, 60, -20, -10), (crop.Width, crop.Height, crop.OffsetX, crop.OffsetY));
        var placed = crop.Place(scan, (short)-1024);
        Assert.Equal(scan.Voxels[(1 * 80 + 10 + 7) * 100 + 20 + 5], placed.Voxels[(1 * 60 + 7) * 60 + 5]); // (25, 17) in the scan is (5, 7) in the field
        var back = crop.Take(placed, scan.Geometry, (short)-1);
        for (var z = 0; z < 2; z++)
            for (var y = 0; y < 80; y++)
                for (var x = 0; x < 100; x++)
                {
                    var i = (z * 80 + y) * 100 + x;
                    var inField = x is >= 20 and < 80 && y is >= 10 and < 70;
                    Assert.Equal(inField ? scan.Voxels[i] : (short)-1, back.Voxels[i]);
                }
        // 300 mm = 150 x 150 pixels: padded, and back to the scan unchanged.
        var pad = PhysicalField.For(scan.Geometry, 300);
        Assert.Equal((150, 150, 25, 35), (pad.Width, pad.Height, pad.OffsetX, pad.OffsetY));
        var padded = pad.Place(scan, (short)-1024);
        Assert.Equal(-1024, padded.Voxels[0]);
        Assert.Equal(scan.Voxels, pad.Take(padded, scan.Geometry, (short)-1).Voxels);
    }

    [Fact]
    public void APredictionInTheFieldLandsOnTheScanWhereItWasMadeWithItsVolume()
    {
        // A 512 x 512 scan at 0.45 mm (230 mm); the network sees 240 mm in 64 pixels (3.75 mm each).
        const int size = 64;
        const double field = 240;
        var geometry = new VolumeGeometry(new Dims(512, 512, 1), Affine.Canonical(new Spacing(0.45, 0.45, 5)));
        var c = new PreparedCase(new CaseDescriptor("a", "a", "s", LesionType.Hemorrhage, HasReference: false), geometry, size, 1,
            new float[size * size], null, field);
        var stack = new float[size * size];
        for (var y = 40; y < 48; y++)
            for (var x = 10; x < 18; x++) stack[y * size + x] = 1; // 8 x 8 network pixels: 30 x 30 mm
        var mask = CasePredictor.MaskOnOriginalGrid(c, [0], stack);

        // Where it should be, computed apart: network pixel centre u maps to mm (u + 0.5) * 3.75 - 120 from the
        // field's centre, which is the scan's centre; scan pixel i sits at (i - 255.5) * 0.45 mm from it.
        double ToScan(double networkEdge) => (networkEdge * field / size - field / 2) / 0.45 + 255.5 + 0.5;
        var xs = new List<int>();
        var ys = new List<int>();
        for (var y = 0; y < 512; y++)
            for (var x = 0; x < 512; x++)
                if (mask.Voxels[y * 512 + x] != 0) { xs.Add(x); ys.Add(y); }
        Assert.InRange(xs.Min(), ToScan(10) - 1, ToScan(10) + 1);
        Assert.InRange(xs.Max() + 1, ToScan(18) - 1, ToScan(18) + 1);
        Assert.InRange(ys.Min(), ToScan(40) - 1, ToScan(40) + 1);
        Assert.InRange(ys.Max() + 1, ToScan(48) - 1, ToScan(48) + 1);
        Assert.InRange(MaskVolume.VolumeMl(mask), 4.5 * 0.93, 4.5 * 1.07); // 30 x 30 x 5 mm, to a scan pixel at each edge
        Assert.Equal(3.75 * 3.75 * 5 / 1000.0, c.ModelVoxelMl, 6);
    }

    [Fact]
    public void TheFieldIsATrainingSettingAndChangesTheFingerprintOnlyWhenSet()
    {
        var setup = TrainingSetup.FromSettings(new Dictionary<string, string> { ["field-mm"] = "240" });
        Assert.Equal(240, setup.Resolve().PreprocessingOrDefault.FieldMm);
        Assert.Equal("240", setup.ToSettings()["field-mm"]);
        Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["field-mm"] = "50" }));
        Assert.DoesNotContain("FieldMm", new PreprocessingOptions().ToString());
        Assert.Contains("FieldMm = 240", new PreprocessingOptions(FieldMm: 240).ToString());
    }
}
