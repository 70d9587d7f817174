using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Itk;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>
/// Masks and images leave the portal on the grid of the file that was uploaded (issue 9, item 8): per case
/// (image.nii.gz, reference.nii.gz, an annotation's mask.nii.gz) and per cohort (export.zip with a manifest). The upload
/// here is oblique and permuted (voxel axes to anterior, inferior and right, rotated by a few degrees), so a file written
/// on the stored canonical grid would differ in shape, affine and voxel order. nibabel and ITK, read independently of the
/// portal's code, must see the uploaded file's geometry and find the mask on the same voxels.
/// </summary>
public class ExportTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    private static readonly Dims SourceDims = new(20, 9, 14);

    /// <summary>Voxel x to anterior (0.9 mm), y to inferior (2.5 mm slices), z to the patient's right (0.8 mm), rotated 6° about
    /// one axis and 4° about another: "AIR" in nibabel's codes, far from the canonical LPS.</summary>
    private static Affine SourceAffine()
    {
        double a = 6 * Math.PI / 180, b = 4 * Math.PI / 180;
        double[,] rz = { { Math.Cos(a), -Math.Sin(a), 0 }, { Math.Sin(a), Math.Cos(a), 0 }, { 0, 0, 1 } };
        double[,] rx = { { 1, 0, 0 }, { 0, Math.Cos(b), -Math.Sin(b) }, { 0, Math.Sin(b), Math.Cos(b) } };
        double[][] columns = [[0, 0.9, 0], [0, 0, -2.5], [0.8, 0, 0]];
        var m = new double[3, 4];
        for (var c = 0; c < 3; c++)
        {
            for (var r = 0; r < 3; r++)
            {
                double v = 0;
                for (var k = 0; k < 3; k++)
                {
                    double rot = 0;
                    for (var q = 0; q < 3; q++) rot += rz[r, q] * rx[q, k];
                    v += rot * columns[c][k];
                }
                m[r, c] = v;
            }
        }
        (m[0, 3], m[1, 3], m[2, 3]) = (12.5, -30.25, 41);
        return Affine.FromMatrix(m);
    }

    /// <summary>A distinct scan per variant (one site refuses the same scan twice) and an asymmetric mask: a block and one
    /// lone voxel, so a swapped or flipped axis moves them.</summary>
    private static (Volume<short> Image, Volume<byte> Mask) SourceCase(int variant)
    {
        var image = new Volume<short>(SourceDims, SourceAffine());
        var mask = new Volume<byte>(image.Geometry);
        for (var k = 0; k < SourceDims.Z; k++)
            for (var j = 0; j < SourceDims.Y; j++)
                for (var i = 0; i < SourceDims.X; i++)
                {
                    image[i, j, k] = (short)(i + 20 * j + 200 * k - 1000);
                    if (i is >= 3 and <= 7 && j is >= 2 and <= 4 && k is >= 5 and <= 6) mask[i, j, k] = 1;
                }
        image[0, 0, 0] = (short)(2000 + variant);
        mask[16, 7, 11] = 1;
        return (image, mask);
    }

    private sealed record Uploaded(int CohortId, int CaseId, string PseudoId, string ImageFile, string MaskFile, Volume<short> Image, Volume<byte> Mask);

    /// <summary>Creates a cohort and uploads the oblique case (with its mask as NAME_mask.nii.gz) into it.</summary>
    private async Task<Uploaded> UploadAsync(TestCases files, string cohortName, int variant, bool withMask = true, int? cohortId = null)
    {
        var (image, mask) = SourceCase(variant);
        var dir = $"upload{variant}";
        var imageFile = files.Path($"{dir}/oblique{variant}.nii.gz");
        var maskFile = files.Path($"{dir}/oblique{variant}_mask.nii.gz");
        NiftiWriter.Write(imageFile, image);
        if (withMask) NiftiWriter.Write(maskFile, mask);
        var cohort = cohortId ?? await portal.CreateCohortAsync(cohortName);
        var (status, body) = await portal.UploadAsync(cohort, files.Zip(dir, $"{dir}.zip"));
        Assert.Equal(HttpStatusCode.OK, status);
        var result = body.GetProperty("cases")[0];
        Assert.True(result.GetProperty("status").GetString() == "imported", result.ToString());
        if (!withMask) File.Delete(maskFile);
        return new Uploaded(cohort, result.GetProperty("caseId").GetInt32(), result.GetProperty("pseudoId").GetString()!, imageFile, maskFile, image, mask);
    }

    private static async Task<string> SaveAsync(HttpClient client, string url, string path)
    {
        using var response = await client.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return path;
    }

    /// <summary>Downloads the cohort's export and unpacks it; returns the folder and the zip's entry names.</summary>
    private static async Task<(string Folder, List<string> Entries, string Zip)> ExportAsync(HttpClient client, int cohortId, TestCases files)
    {
        using var response = await client.GetAsync($"/api/cohorts/{cohortId}/export.zip");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"export: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/zip", response.Content.Headers.ContentType!.MediaType);
        Assert.Matches($"^cohort-{cohortId}-[a-z0-9-]+\\.zip$", response.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
        var zip = files.Path($"export{cohortId}.zip");
        await File.WriteAllBytesAsync(zip, await response.Content.ReadAsByteArrayAsync());
        var folder = files.Path($"export{cohortId}/.keep");
        folder = Path.GetDirectoryName(folder)!;
        using var archive = ZipFile.OpenRead(zip);
        var entries = archive.Entries.Select(e => e.FullName).ToList();
        archive.ExtractToDirectory(folder);
        return (folder, entries, zip);
    }

    private static List<Dictionary<string, string>> ReadManifest(string folder)
    {
        var text = File.ReadAllText(Path.Combine(folder, "manifest.csv"), Encoding.UTF8);
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(','), (h, v) => (h, v)).ToDictionary(p => p.h, p => p.v)).ToList();
    }

    [Fact]
    public async Task DownloadsAndTheExportHaveTheUploadedFilesShapeAffineAndMaskVoxelsInNibabel()
    {
        using var files = new TestCases();
        var up = await UploadAsync(files, "Export nibabel", 1);
        using var client = portal.As("coordinator");
        var image = await SaveAsync(client, $"/api/cases/{up.CaseId}/image.nii.gz", files.Path("dl/image.nii.gz"));
        var reference = await SaveAsync(client, $"/api/cases/{up.CaseId}/reference.nii.gz", files.Path("dl/reference.nii.gz"));
        var (folder, _, zip) = await ExportAsync(client, up.CohortId, files);

        var json = Python.Run("""
            import sys, json, zipfile
            import numpy as np, nibabel as nib
            source, source_mask, archive = nib.load(sys.argv[1]), nib.load(sys.argv[2]), sys.argv[3]
            out = {"zip_ok": zipfile.ZipFile(archive).testzip() is None, "source_codes": "".join(nib.aff2axcodes(source.affine)), "pairs": []}
            src = np.asanyarray(source.dataobj)
            src_mask = np.argwhere(np.asanyarray(source_mask.dataobj) != 0)
            for image_path, mask_path in zip(sys.argv[4::2], sys.argv[5::2]):
                image, mask = nib.load(image_path), nib.load(mask_path)
                m = np.asanyarray(mask.dataobj)
                out["pairs"].append({
                    "image_shape": list(image.shape), "mask_shape": list(mask.shape), "source_shape": list(source.shape),
                    "image_affine_diff": float(np.abs(image.affine - source.affine).max()),
                    "mask_affine_diff": float(np.abs(mask.affine - source.affine).max()),
                    "image_dtype": str(image.get_data_dtype()), "mask_dtype": str(mask.get_data_dtype()),
                    "image_equal": bool(np.array_equal(np.asanyarray(image.dataobj), src)),
                    "mask_voxels_equal": bool(np.array_equal(np.argwhere(m != 0), src_mask)),
                    "mask_values": sorted(int(v) for v in np.unique(m)),
                })
            print(json.dumps(out))
            """, up.ImageFile, up.MaskFile, zip, image, reference,
            Path.Combine(folder, "images", $"{up.PseudoId}.nii.gz"), Path.Combine(folder, "references", $"{up.PseudoId}.nii.gz"));

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("zip_ok").GetBoolean(), "python's zipfile finds a bad CRC in the export");
        Assert.Equal("AIR", root.GetProperty("source_codes").GetString());
        var pairs = root.GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(2, pairs.Count);
        foreach (var (pair, what) in pairs.Zip(["downloads", "export.zip"]))
        {
            Assert.True(Ints(pair, "image_shape").SequenceEqual([20, 9, 14]), $"{what}: {pair}");
            Assert.True(Ints(pair, "mask_shape").SequenceEqual([20, 9, 14]), $"{what}: {pair}");
            Assert.True(pair.GetProperty("image_affine_diff").GetDouble() < 1e-5, $"{what}: {pair}");
            Assert.True(pair.GetProperty("mask_affine_diff").GetDouble() < 1e-5, $"{what}: {pair}");
            Assert.Equal("int16", pair.GetProperty("image_dtype").GetString());
            Assert.Equal("uint8", pair.GetProperty("mask_dtype").GetString());
            Assert.True(pair.GetProperty("image_equal").GetBoolean(), $"{what}: the image's voxels are not the uploaded file's, in its order");
            Assert.True(pair.GetProperty("mask_voxels_equal").GetBoolean(), $"{what}: the mask's voxels are not on the uploaded mask's indices");
            Assert.Equal([0, 1], Ints(pair, "mask_values"));
        }
    }

    private static int[] Ints(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(v => v.GetInt32())];

    [Fact]
    public async Task DownloadsAndTheExportHaveTheUploadedFilesGeometryInItk()
    {
        using var files = new TestCases();
        var up = await UploadAsync(files, "Export ITK", 2);
        using var client = portal.As("investigator");
        var image = await SaveAsync(client, $"/api/cases/{up.CaseId}/image.nii.gz", files.Path("dl/image.nii.gz"));
        var reference = await SaveAsync(client, $"/api/cases/{up.CaseId}/reference.nii.gz", files.Path("dl/reference.nii.gz"));
        var (folder, _, _) = await ExportAsync(client, up.CohortId, files);

        // Every lesion voxel, and voxels around the grid's corners and the mask's edges.
        var probes = new List<(int, int, int)>();
        for (var k = 0; k < SourceDims.Z; k++)
            for (var j = 0; j < SourceDims.Y; j++)
                for (var i = 0; i < SourceDims.X; i++)
                    if (up.Mask[i, j, k] != 0 || (i + 3 * j + 7 * k) % 23 == 0) probes.Add((i, j, k));
        var source = ItkOk(up.ImageFile, probes);
        foreach (var (imageFile, maskFile, what) in new[]
        {
            (image, reference, "downloads"),
            (Path.Combine(folder, "images", $"{up.PseudoId}.nii.gz"), Path.Combine(folder, "references", $"{up.PseudoId}.nii.gz"), "export.zip"),
        })
        {
            var i = ItkOk(imageFile, probes);
            var m = ItkOk(maskFile, probes);
            AssertSameGrid(source, i, $"{what} image");
            AssertSameGrid(source, m, $"{what} mask");
            Assert.Equal("short", i.ComponentType);
            Assert.Equal("unsigned_char", m.ComponentType);
            Assert.Equal(source.Values, i.Values);
            Assert.Equal(probes.Select(p => (double)up.Mask[p.Item1, p.Item2, p.Item3]), m.Values);
            Assert.Equal(MaskVolume.CountVoxels(up.Mask), (long)m.Sum);
        }
    }

    private static ItkRead ItkOk(string path, List<(int, int, int)> probes)
    {
        var read = ItkGeometry.Read(path, [.. probes]);
        Assert.True(read.Error is null, $"ITK {read.Version} refused {Path.GetFileName(path)}: {read.Error}");
        return read;
    }

    private static void AssertSameGrid(ItkRead expected, ItkRead actual, string what)
    {
        Assert.Equal(expected.Size, actual.Size);
        for (var n = 0; n < 3; n++)
        {
            Assert.True(Math.Abs(expected.Spacing[n] - actual.Spacing[n]) < 1e-4, $"{what}: spacing {string.Join(", ", actual.Spacing)}");
            Assert.True(Math.Abs(expected.Origin[n] - actual.Origin[n]) < 1e-3, $"{what}: origin {string.Join(", ", actual.Origin)}");
        }
        for (var n = 0; n < 9; n++)
        {
            Assert.True(Math.Abs(expected.Direction[n] - actual.Direction[n]) < 1e-4, $"{what}: direction {string.Join(", ", actual.Direction)}");
        }
    }

    [Fact]
    public async Task TheManifestDescribesEveryCaseItsGridAndWhereItsReferenceCameFrom()
    {
        using var files = new TestCases();
        var accepted = await UploadAsync(files, "Export manifest", 3);
        var cohort = accepted.CohortId;
        var imported = await UploadAsync(files, "", 4, cohortId: cohort);
        var bare = await UploadAsync(files, "", 5, withMask: false, cohortId: cohort);
        var old = await UploadAsync(files, "", 6, cohortId: cohort);
        // A case imported before the portal kept source grids: it is written on the stored grid.
        await portal.DbAsync(db => db.Cases.Where(c => c.Id == old.CaseId).ExecuteUpdateAsync(s => s.SetProperty(c => c.SourceGrid, (string?)null)));
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        // The annotator draws on the downloaded reference (source grid) and the coordinator accepts it: it becomes the reference.
        Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsJsonAsync($"/api/cases/{accepted.CaseId}/assignments", new { annotator = "annotator" })).StatusCode);
        var drawn = await annotator.GetByteArrayAsync($"/api/cases/{accepted.CaseId}/reference.nii.gz");
        Assert.Equal(HttpStatusCode.OK, (await annotator.PutAsync($"/api/cases/{accepted.CaseId}/annotations/mine", new ByteArrayContent(drawn))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await annotator.PostAsync($"/api/cases/{accepted.CaseId}/annotations/mine/submit", null)).StatusCode);
        var annotationId = (await coordinator.GetFromJsonAsync<JsonElement>($"/api/cases/{accepted.CaseId}/annotations"))[0].GetProperty("id").GetInt32();
        Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsJsonAsync($"/api/annotations/{annotationId}/review", new { decision = "accept" })).StatusCode);

        using var investigator = portal.As("investigator");
        var (folder, entries, _) = await ExportAsync(investigator, cohort, files);
        var rows = ReadManifest(folder).ToDictionary(r => r["pseudo_id"]);

        Assert.Equal(
            new[] { accepted, imported, bare, old }.Select(u => $"images/{u.PseudoId}.nii.gz")
                .Concat(new[] { accepted, imported, old }.Select(u => $"references/{u.PseudoId}.nii.gz")).Append("manifest.csv").Order(),
            entries.Order());
        Assert.Equal(4, rows.Count);
        var sp = accepted.Image.Spacing;
        var lesionMl = MaskVolume.CountVoxels(accepted.Mask) * sp.X * sp.Y * sp.Z / 1000;
        var blobs = await portal.DbAsync(db => db.Cases.Where(c => c.CohortId == cohort).ToDictionaryAsync(c => c.PseudoId, c => c.ImageBlob));
        foreach (var up in new[] { accepted, imported, bare, old })
        {
            var r = rows[up.PseudoId];
            Assert.StartsWith("NOR-P", r["patient_id"]);
            Assert.Equal("infarct", r["lesion_type"]);
            Assert.Equal("nifti-1", r["source_format"]);
            Assert.Equal($"images/{up.PseudoId}.nii.gz", r["image_file"]);
            Assert.Equal(blobs[up.PseudoId], r["image_blob_sha256"]);
            Assert.Equal("", r["error"]);
        }
        foreach (var up in new[] { accepted, imported, bare })
        {
            var r = rows[up.PseudoId];
            Assert.Equal(("20", "9", "14"), (r["dim_x"], r["dim_y"], r["dim_z"]));
            Assert.Equal(("0.9", "2.5", "0.8"), (r["spacing_x_mm"], r["spacing_y_mm"], r["spacing_z_mm"]));
            Assert.Equal(("AIR", "source"), (r["orientation"], r["grid"]));
        }
        // The stored grid of the old case: LPS order, slices along z.
        Assert.Equal(("14", "20", "9", "LPS", "stored"), (rows[old.PseudoId]["dim_x"], rows[old.PseudoId]["dim_y"], rows[old.PseudoId]["dim_z"],
            rows[old.PseudoId]["orientation"], rows[old.PseudoId]["grid"]));
        var oldImage = NiftiReader.Read(Path.Combine(folder, "images", $"{old.PseudoId}.nii.gz")).ToInt16();
        var canonical = Orientation.ToCanonical(old.Image);
        Assert.Equal(canonical.Voxels, oldImage.Voxels);
        Assert.True(oldImage.Geometry.Matches(canonical.Geometry), $"{oldImage.Affine} vs {canonical.Affine}");

        Assert.Equal(("true", "annotation", "annotator", "coordinator", $"references/{accepted.PseudoId}.nii.gz"),
            (rows[accepted.PseudoId]["has_reference"], rows[accepted.PseudoId]["reference_source"], rows[accepted.PseudoId]["reference_annotator"],
                rows[accepted.PseudoId]["reference_decided_by"], rows[accepted.PseudoId]["reference_file"]));
        Assert.Equal(lesionMl, double.Parse(rows[accepted.PseudoId]["reference_volume_ml"], System.Globalization.CultureInfo.InvariantCulture), 3);
        Assert.Equal(("true", "imported", "", "coordinator"),
            (rows[imported.PseudoId]["has_reference"], rows[imported.PseudoId]["reference_source"], rows[imported.PseudoId]["reference_annotator"],
                rows[imported.PseudoId]["reference_decided_by"]));
        Assert.Equal(("false", "", "", ""),
            (rows[bare.PseudoId]["has_reference"], rows[bare.PseudoId]["reference_source"], rows[bare.PseudoId]["reference_file"], rows[bare.PseudoId]["reference_volume_ml"]));

        var audit = await portal.DbAsync(db => db.AuditEvents.Where(e => e.Action == "cohort.exported" && e.EntityId == cohort.ToString()).ToListAsync());
        var exported = Assert.Single(audit);
        Assert.Equal("investigator", exported.UserName);
        Assert.Contains("complete: 4 of 4 images, 3 references", exported.Details);
    }

    [Fact]
    public async Task ACaseWhoseStoredImageIsMissingIsListedWithItsErrorAndTheRestIsExported()
    {
        using var files = new TestCases();
        var broken = await UploadAsync(files, "Export broken", 7);
        var good = await UploadAsync(files, "", 8, cohortId: broken.CohortId);
        var hash = await portal.DbAsync(db => db.Cases.Where(c => c.Id == broken.CaseId).Select(c => c.ImageBlob).SingleAsync());
        Assert.True(portal.Blobs.Delete(hash));

        using var client = portal.As("coordinator");
        var (folder, entries, _) = await ExportAsync(client, broken.CohortId, files);
        var rows = ReadManifest(folder).ToDictionary(r => r["pseudo_id"]);

        Assert.Equal(new[] { $"images/{good.PseudoId}.nii.gz", "manifest.csv", $"references/{good.PseudoId}.nii.gz" }, entries.Order());
        Assert.Equal("image not exported: its stored data is missing", rows[broken.PseudoId]["error"]);
        Assert.Equal(("", ""), (rows[broken.PseudoId]["image_file"], rows[broken.PseudoId]["reference_file"]));
        Assert.Equal(("20", "source"), (rows[broken.PseudoId]["dim_x"], rows[broken.PseudoId]["grid"]));
        Assert.Equal("", rows[good.PseudoId]["error"]);
        var audit = await portal.DbAsync(db => db.AuditEvents.SingleAsync(e => e.Action == "cohort.exported" && e.EntityId == broken.CohortId.ToString()));
        Assert.Contains($"not readable: {broken.PseudoId}", audit.Details);
    }

    [Fact]
    public async Task AnEmptyCohortExportsTheManifestHeaderOnly()
    {
        using var files = new TestCases();
        var cohort = await portal.CreateCohortAsync("Export empty");
        using var client = portal.As("coordinator");
        var (folder, entries, _) = await ExportAsync(client, cohort, files);

        Assert.Equal(["manifest.csv"], entries);
        Assert.Equal("pseudo_id,patient_id,lesion_type,dim_x,dim_y,dim_z,spacing_x_mm,spacing_y_mm,spacing_z_mm,orientation,grid,source_format,"
            + "has_reference,reference_volume_ml,reference_source,reference_annotator,reference_decided_by,image_file,reference_file,image_blob_sha256,error\r\n",
            File.ReadAllText(Path.Combine(folder, "manifest.csv")));
    }

    [Fact]
    public async Task AnotherSitesCohortAnAnnotatorAndAnUnknownCohortGetNoExport()
    {
        var south = await portal.SiteIdAsync("South");
        var created = await portal.Service<CohortService>().CreateAsync(south,
            new CohortInput("Export of South", CohortLesionType.Mixed, null), Sdpm.Portal.Features.Audit.Actor.System);
        Assert.True(created.Succeeded, created.Error);
        var north = await portal.CreateCohortAsync("Export of North");
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        using var investigator = portal.As("investigator");

        foreach (var (client, cohort, who) in new[]
        {
            (coordinator, created.Value!.Id, "North's coordinator, South's cohort"),
            (annotator, north, "North's annotator"),
            (investigator, 987654, "a cohort that does not exist"),
        })
        {
            using var response = await client.GetAsync($"/api/cohorts/{cohort}/export.zip");
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{who}: {(int)response.StatusCode}");
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
        using var allowed = await investigator.GetAsync($"/api/cohorts/{created.Value!.Id}/export.zip");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(0, await portal.DbAsync(db => db.AuditEvents.CountAsync(e => e.Action == "cohort.exported" && e.EntityId == north.ToString())));
    }

    [Fact]
    public async Task TheCohortAndCasePagesLinkTheDownloadsEachUserMayHave()
    {
        using var files = new TestCases();
        var up = await UploadAsync(files, "Export pages", 10);
        using var coordinator = portal.As("coordinator");
        await coordinator.PostAsJsonAsync($"/api/cases/{up.CaseId}/assignments", new { annotator = "annotator" });
        using (var annotatorApi = portal.As("annotator"))
        {
            Assert.Equal(HttpStatusCode.OK, (await annotatorApi.PutAsync($"/api/cases/{up.CaseId}/annotations/mine",
                new ByteArrayContent(await File.ReadAllBytesAsync(up.MaskFile)))).StatusCode);
        }
        var annotationId = await portal.DbAsync(db => db.Annotations.Where(a => a.CaseId == up.CaseId).Select(a => a.Id).SingleAsync());
        var export = $"api/cohorts/{up.CohortId}/export.zip";
        string[] caseLinks = [$"api/cases/{up.CaseId}/image.nii.gz", $"api/cases/{up.CaseId}/reference.nii.gz", $"api/annotations/{annotationId}/mask.nii.gz"];

        foreach (var user in new[] { "coordinator", "investigator", "annotator" })
        {
            using var session = await Infrastructure.PortalSession.SignInAsync(portal, user);
            var cohortPage = await session.Client.GetStringAsync($"/cohorts/{up.CohortId}");
            var casePage = await session.Client.GetStringAsync($"/cases/{up.CaseId}");
            Assert.True(cohortPage.Contains(export) == (user != "annotator"), $"{user}: the export link is {(user == "annotator" ? "shown" : "missing")}");
            foreach (var link in caseLinks) Assert.True(casePage.Contains(link), $"{user}: {link} is missing on the case page");
        }
    }

    [Fact]
    public async Task AMaskOnTheSourceGridAsDownloadedIsSavedAndDownloadedAgainAndAnotherGridIsRefused()
    {
        using var files = new TestCases();
        var up = await UploadAsync(files, "Export annotation", 9);
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        await coordinator.PostAsJsonAsync($"/api/cases/{up.CaseId}/assignments", new { annotator = "annotator" });

        // The uploaded mask file itself is on the source grid, as reference.nii.gz gives it.
        var saved = await annotator.PutAsync($"/api/cases/{up.CaseId}/annotations/mine", new ByteArrayContent(await File.ReadAllBytesAsync(up.MaskFile)));
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var annotation = await saved.Content.ReadFromJsonAsync<JsonElement>();
        var row = await portal.DbAsync(db => db.Cases.SingleAsync(c => c.Id == up.CaseId));
        var stored = await portal.DbAsync(db => db.Annotations.SingleAsync(a => a.Id == annotation.GetProperty("id").GetInt32()));
        Assert.Equal(row.ReferenceBlob, stored.MaskBlob); // the same voxels as the imported reference, stored in canonical order

        // Shifted by 10 mm: same size, not on the grid. Transposed dims: another grid altogether.
        var shifted = Affine.FromRows([.. Enumerable.Range(0, 12).Select(n => up.Mask.Affine[n / 4, n % 4] + (n == 3 ? 10 : 0))]);
        var other = new Volume<byte>(SourceDims, shifted, up.Mask.Voxels);
        var smaller = new Volume<byte>(new Dims(SourceDims.X, SourceDims.Y, SourceDims.Z - 1), SourceAffine());
        foreach (var (mask, expect) in new[] { (other, "same size, different position or orientation"), (smaller, "mask 20x9x13") })
        {
            using var ms = new MemoryStream();
            NiftiWriter.Write(ms, mask, gzip: true);
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/cases/{up.CaseId}/annotations/mine") { Content = new ByteArrayContent(ms.ToArray()) };
            request.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\""));
            using var refused = await annotator.SendAsync(request);
            var problem = await refused.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("not on the case grid", problem);
            Assert.Contains(expect, problem);
            Assert.Contains("case 20x9x14", problem); // the case as its downloads give it, not the stored order
        }
        Assert.Equal(1, await portal.DbAsync(db => db.AnnotationRevisions.CountAsync(r => r.AnnotationId == stored.Id)));

        // Downloaded again, by its annotator and by a reviewer: the uploaded mask's grid and voxels.
        foreach (var client in new[] { annotator, coordinator })
        {
            using var response = await client.GetAsync($"/api/annotations/{stored.Id}/mask.nii.gz");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"{up.PseudoId}_annotation-{stored.Id}.nii.gz", response.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
            using var body = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
            var mask = NiftiReader.Read(body, "mask.nii.gz").ToMask();
            Assert.True(mask.Geometry.Matches(up.Mask.Geometry, 1e-5), $"{mask.Affine} vs {up.Mask.Affine}");
            Assert.Equal(up.Mask.Voxels, mask.Voxels);
        }
        using var reference = await coordinator.GetAsync($"/api/cases/{up.CaseId}/reference.nii.gz");
        Assert.Equal($"{up.PseudoId}_reference.nii.gz", reference.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
    }
}
