using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>Uploads through the scripted API: what is imported, what each case's result says, and that a refused case
/// leaves no case row and no blob behind.</summary>
public class UploadTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task AZipOfCasesWithMasksImportsEachCaseWithItsReferenceVolume()
    {
        using var files = new TestCases();
        var cases = Enumerable.Range(0, 3).Select(i => TestCases.Case(i)).ToList();
        for (var i = 0; i < cases.Count; i++) files.WriteNifti("batch", $"pat{i}", cases[i]);
        var cohort = await portal.CreateCohortAsync("Zip of cases");

        var (status, body) = await portal.UploadAsync(cohort, files.Zip("batch", "batch.zip"));

        Assert.Equal(HttpStatusCode.OK, status);
        var results = body.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal("imported", r.GetProperty("status").GetString()));
        using var client = portal.As("annotator");
        for (var i = 0; i < 3; i++)
        {
            var caseId = results.Single(r => r.GetProperty("name").GetString()!.EndsWith($"pat{i}.nii.gz")).GetProperty("caseId").GetInt32();
            var json = JsonDocument.Parse(await client.GetStringAsync($"/api/cases/{caseId}")).RootElement;
            var sp = cases[i].Image.Spacing;
            // Independent: non-zero voxels of the generated mask times the voxel size from the spacing.
            var expectedMl = cases[i].Mask.Voxels.Count(v => v != 0) * sp.X * sp.Y * sp.Z / 1000.0;
            Assert.Equal(expectedMl, json.GetProperty("lesionVolumeMl").GetDouble(), 2);
            Assert.Equal([64, 64, 6], json.GetProperty("dims").EnumerateArray().Select(d => d.GetInt32()));
            Assert.Equal(sp.Z, json.GetProperty("spacing")[2].GetDouble(), 3);
            Assert.True(json.GetProperty("hasReference").GetBoolean());
        }
    }

    [Fact]
    public async Task TheSameCaseTwiceIsRefusedAsADuplicateNamingTheExistingCase()
    {
        using var files = new TestCases();
        var image = files.WriteNifti("one", "dup", TestCases.Case(4), withMask: false);
        var cohort = await portal.CreateCohortAsync("Duplicates");

        var first = await portal.UploadAsync(cohort, image);
        var blobs = portal.BlobNames();
        var second = await portal.UploadAsync(cohort, image);

        var pseudo = first.Body.GetProperty("cases")[0].GetProperty("pseudoId").GetString();
        var refused = second.Body.GetProperty("cases")[0];
        Assert.Equal("refused", refused.GetProperty("status").GetString());
        Assert.Contains($"Duplicate: the same scan is already case {pseudo}", refused.GetProperty("reason").GetString());
        Assert.Equal(1, await portal.DbAsync(db => db.Cases.CountAsync(c => c.CohortId == cohort)));
        Assert.Equal(blobs, portal.BlobNames());
    }

    [Fact]
    public async Task ATruncatedNiftiIsRefusedAsUnreadableAndTheRestOfTheBatchImports()
    {
        using var files = new TestCases();
        files.WriteNifti("mixed", "good", TestCases.Case(5), withMask: false);
        var bad = files.WriteNifti("mixed", "bad", TestCases.Case(6), withMask: false);
        var bytes = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
        var cohort = await portal.CreateCohortAsync("Truncated");
        var blobsBefore = portal.BlobNames().Count;

        var (_, body) = await portal.UploadAsync(cohort, files.Zip("mixed", "mixed.zip"));

        var rows = body.GetProperty("cases").EnumerateArray().ToDictionary(r => Path.GetFileName(r.GetProperty("name").GetString()!));
        Assert.Equal("imported", rows["good.nii.gz"].GetProperty("status").GetString());
        Assert.Equal("refused", rows["bad.nii.gz"].GetProperty("status").GetString());
        Assert.StartsWith("Unreadable:", rows["bad.nii.gz"].GetProperty("reason").GetString());
        Assert.Equal(1, await portal.DbAsync(db => db.Cases.CountAsync(c => c.CohortId == cohort)));
        Assert.Equal(blobsBefore + 2, portal.BlobNames().Count); // the good case's volume and thumbnail only
    }

    [Fact]
    public async Task AMaskOnAnotherGridIsRefusedWithBothGrids()
    {
        using var files = new TestCases();
        var c = TestCases.Case(0);
        NiftiWriteHelpers.WriteImageWithForeignMask(files, "grid", c);
        var cohort = await portal.CreateCohortAsync("Grids");

        var (_, body) = await portal.UploadAsync(cohort, files.Zip("grid", "grid.zip"));

        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("not on the image grid", row.GetProperty("reason").GetString());
        Assert.Contains("64x64x6", row.GetProperty("reason").GetString());
        Assert.Equal(0, await portal.DbAsync(db => db.Cases.CountAsync(x => x.CohortId == cohort)));
    }

    [Fact]
    public async Task AFourDimensionalNiftiIsRefusedWithTheReason()
    {
        using var files = new TestCases();
        var cohort = await portal.CreateCohortAsync("4D");

        var (_, body) = await portal.UploadAsync(cohort, files.Write4D("perfusion.nii"));

        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("4D", row.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AZipWithParentFolderNamesIsRefusedWholeAndNothingIsWritten()
    {
        using var files = new TestCases();
        var zip = files.Path("evil.zip");
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
        {
            archive.CreateEntry("ok/case.nii.gz");
            using var w = new StreamWriter(archive.CreateEntry("../../escape.txt").Open());
            w.Write("outside");
        }
        var cohort = await portal.CreateCohortAsync("Zip slip");
        var blobs = portal.BlobNames();

        var (_, body) = await portal.UploadAsync(cohort, zip);

        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("outside the archive", row.GetProperty("reason").GetString());
        Assert.Equal(blobs, portal.BlobNames());
        Assert.False(File.Exists(Path.Combine(portal.DataFolder, "escape.txt")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(portal.UploadsFolder));
    }

    [Fact]
    public async Task AZipBombIsRefusedBeforeItIsInflated()
    {
        using var files = new TestCases();
        var zip = files.Path("bomb.zip");
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
        {
            using var s = archive.CreateEntry("zeros.nii", System.IO.Compression.CompressionLevel.SmallestSize).Open();
            var block = new byte[1 << 20];
            for (var i = 0; i < 200; i++) s.Write(block); // 200 MiB of zeros: a few hundred KiB zipped
        }
        Assert.True(new FileInfo(zip).Length < 2 << 20);
        var cohort = await portal.CreateCohortAsync("Bomb");

        var (_, body) = await portal.UploadAsync(cohort, zip);

        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("zip bomb", row.GetProperty("reason").GetString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(portal.UploadsFolder));
    }

    [Fact]
    public async Task ADicomFolderHoldingTwoSeriesIsRefused()
    {
        using var files = new TestCases();
        files.WriteDicomSeries("two/series", 4, seriesUid: "1.2.826.0.1.3680043.99.7");
        var second = files.WriteDicomSeries("two/other", 4, seriesUid: "1.2.826.0.1.3680043.99.8");
        foreach (var f in Directory.GetFiles(second))
        {
            File.Move(f, Path.Combine(files.Path("two/series"), "b" + Path.GetFileName(f)));
        }
        Directory.Delete(second);
        var cohort = await portal.CreateCohortAsync("Two series");

        var (_, body) = await portal.UploadAsync(cohort, files.Zip("two", "two.zip"));

        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("series", row.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await portal.DbAsync(db => db.Cases.CountAsync(x => x.CohortId == cohort)));
    }

    [Fact]
    public async Task AnUploadWithoutAnyImageSaysSo()
    {
        using var files = new TestCases();
        File.WriteAllText(files.Path("notes/readme.txt"), "no images here");
        var cohort = await portal.CreateCohortAsync("Nothing");

        var (_, body) = await portal.UploadAsync(cohort, files.Zip("notes", "notes.zip"));

        var row = body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("not a NIfTI, DICOM, zip or PNG input", row.GetProperty("reason").GetString());
    }
}

/// <summary>Writers of deliberately wrong inputs.</summary>
internal static class NiftiWriteHelpers
{
    /// <summary>The image and a mask shifted by 10 mm (same size, other position): not on the image grid.</summary>
    public static void WriteImageWithForeignMask(TestCases files, string dir, Sdpm.Imaging.Synthetic.SyntheticCase c)
    {
        Sdpm.Imaging.Nifti.NiftiWriter.Write(files.Path($"{dir}/img.nii.gz"), c.Image);
        var rows = Enumerable.Range(0, 12).Select(i => c.Mask.Affine[i / 4, i % 4]).ToArray();
        rows[3] += 10;
        var shifted = new Volume<byte>(c.Mask.Dims, Affine.FromRows(rows), c.Mask.Voxels);
        Sdpm.Imaging.Nifti.NiftiWriter.Write(files.Path($"{dir}/img_mask.nii.gz"), shifted);
    }
}

/// <summary>AISD-style PNG stacks: image/CASE/*.png with mask/CASE/*.png.</summary>
public class PngStackUploadTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task AnAisdStyleFolderImportsEachCaseWithItsMaskAndSaysWhatWasAssumed()
    {
        using var files = new TestCases();
        for (var c = 1; c <= 2; c++)
        {
            for (var z = 1; z <= 5; z++)
            {
                var grey = new byte[32 * 24];
                var mask = new byte[32 * 24];
                for (var i = 0; i < grey.Length; i++) grey[i] = (byte)((i * 7 + z * 13 + c * 29) % 256);
                for (var i = 100; i < 100 + 20 * c; i++) mask[i] = 255;
                File.WriteAllBytes(files.Path($"aisd/image/{c:D4}/{z}.png"), Sdpm.Imaging.Png.PngEncoder.EncodeGray8(grey, 32, 24));
                File.WriteAllBytes(files.Path($"aisd/mask/{c:D4}/{z}.png"), Sdpm.Imaging.Png.PngEncoder.EncodeGray8(mask, 32, 24));
            }
        }
        var cohort = await portal.CreateCohortAsync("AISD");

        var (_, body) = await portal.UploadAsync(cohort, files.Zip("aisd", "aisd.zip"));

        var rows = body.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal("imported", r.GetProperty("status").GetString()));
        Assert.All(rows, r => Assert.Contains("assumed", r.GetProperty("reason").GetString()));
        var stored = await portal.DbAsync(db => db.Cases.Where(c => c.CohortId == cohort).OrderBy(c => c.Id).ToListAsync());
        Assert.All(stored, c => Assert.Equal((32, 24, 5), (c.DimX, c.DimY, c.DimZ)));
        Assert.All(stored, c => Assert.Equal("png-stack", c.SourceFormat));
        // 20 (case 1) and 40 (case 2) lesion pixels per slice at the assumed 1 x 1 x 5 mm spacing.
        Assert.Equal([0.5, 1.0], stored.Select(c => c.ReferenceVolumeMl!.Value));
    }
}
