using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sdpm.Imaging.Display;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Png;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>What the viewer and scripts read of a case: raw and windowed slices, the volume as NIfTI, the reference,
/// with ETags that let the browser revalidate instead of downloading again.</summary>
public class CaseDataTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    private async Task<(int CaseId, Sdpm.Imaging.Synthetic.SyntheticCase Source)> ImportAsync(int index)
    {
        using var files = new TestCases();
        var c = TestCases.Case(index, seed: 21);
        files.WriteNifti("one", $"case{index}", c);
        var cohort = await portal.CreateCohortAsync($"Data {index}");
        var (_, body) = await portal.UploadAsync(cohort, files.Zip("one", "one.zip"));
        return (body.GetProperty("cases")[0].GetProperty("caseId").GetInt32(), c);
    }

    [Fact]
    public async Task ARawSliceIsTheVolumesHuXFastestInCanonicalOrder()
    {
        var (caseId, source) = await ImportAsync(0);
        var canonical = Orientation.ToCanonical(source.Image);
        using var client = portal.As("annotator");

        for (var z = 0; z < canonical.Dims.Z; z += 2)
        {
            var bytes = await client.GetByteArrayAsync($"/api/cases/{caseId}/slices/{z}.raw");
            Assert.Equal(canonical.Dims.X * canonical.Dims.Y * 2, bytes.Length);
            for (var y = 0; y < canonical.Dims.Y; y += 7)
            {
                for (var x = 0; x < canonical.Dims.X; x += 5)
                {
                    var offset = 2 * (x + canonical.Dims.X * y);
                    Assert.Equal(canonical[x, y, z], (short)(bytes[offset] | bytes[offset + 1] << 8));
                }
            }
        }
    }

    [Fact]
    public async Task APngSliceIsTheRequestedWindowOfTheHu()
    {
        var (caseId, source) = await ImportAsync(1);
        var canonical = Orientation.ToCanonical(source.Image);
        using var client = portal.As("coordinator");
        const double level = 40, width = 80;

        var png = PngDecoder.Decode(await client.GetByteArrayAsync($"/api/cases/{caseId}/slices/3.png?window={width}&level={level}"), "slice", 4096);

        Assert.Equal((canonical.Dims.X, canonical.Dims.Y), (png.Width, png.Height));
        for (var i = 0; i < png.Pixels.Length; i += 97)
        {
            var hu = canonical.Voxels[(3 * canonical.Dims.X * canonical.Dims.Y) + i];
            var expected = Math.Clamp((hu - (level - width / 2)) * 255.0 / width, 0, 255); // independent of Window.Map
            Assert.InRange(png.Pixels[i], Math.Floor(expected) - 1, Math.Ceiling(expected) + 1);
        }
    }

    [Fact]
    public async Task ASliceAnswersNotModifiedToItsETagAndOutOfRangeSlicesAreNotFound()
    {
        var (caseId, _) = await ImportAsync(2);
        using var client = portal.As("coordinator");

        var first = await client.GetAsync($"/api/cases/{caseId}/slices/1.raw");
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/cases/{caseId}/slices/1.raw");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        var revalidated = await client.SendAsync(again);
        var other = await client.GetAsync($"/api/cases/{caseId}/slices/2.raw");
        var outside = await client.GetAsync($"/api/cases/{caseId}/slices/6.raw");
        var badWindow = await client.GetAsync($"/api/cases/{caseId}/slices/1.png?window=0");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains("private", first.Headers.CacheControl!.ToString());
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.NotEqual(first.Headers.ETag, other.Headers.ETag);
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        Assert.Contains("outside 0..5", await outside.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, badWindow.StatusCode);
    }

    [Fact]
    public async Task TheImageAndReferenceDownloadsAreNiftiOnTheSameGridWithTheStoredValues()
    {
        var (caseId, source) = await ImportAsync(3);
        using var client = portal.As("investigator");
        var folder = Directory.CreateTempSubdirectory("sdpm-download-").FullName;
        try
        {
            var imageFile = Path.Combine(folder, "image.nii.gz");
            var maskFile = Path.Combine(folder, "mask.nii.gz");
            var image = await client.GetAsync($"/api/cases/{caseId}/image.nii.gz");
            Assert.Equal("application/gzip", image.Content.Headers.ContentType!.MediaType);
            Assert.Matches("NOR-\\d{4}\\.nii\\.gz", image.Content.Headers.ContentDisposition!.FileName!.Trim('"'));
            await File.WriteAllBytesAsync(imageFile, await image.Content.ReadAsByteArrayAsync());
            await File.WriteAllBytesAsync(maskFile, await client.GetByteArrayAsync($"/api/cases/{caseId}/reference.nii.gz"));

            var hu = NiftiReader.ReadHu(imageFile);
            var mask = NiftiReader.ReadMask(maskFile);
            var expected = Orientation.ToCanonical(source.Image);
            Assert.Equal(expected.Voxels, Orientation.ToCanonical(hu).Voxels);
            Assert.True(hu.Geometry.Matches(source.Image.Geometry) || Orientation.ToCanonical(hu).Geometry.Matches(expected.Geometry));
            Assert.True(mask.Geometry.Matches(Orientation.ToCanonical(hu).Geometry));
            Assert.Equal(source.Mask.Voxels.Count(v => v != 0), mask.Voxels.Count(v => v != 0));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task TheReferenceRunLengthDecodesToTheMaskAndACaseWithoutOneHasNone()
    {
        var (caseId, source) = await ImportAsync(4);
        using var client = portal.As("annotator");

        var rle = await client.GetByteArrayAsync($"/api/cases/{caseId}/reference.rle");
        var json = await client.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");

        Assert.Equal("SRLE"u8.ToArray(), rle[..4]);
        var canonical = Orientation.ToCanonical(source.Mask);
        var decoded = Sdpm.Imaging.Masks.RunLengthMask.Decode(rle, canonical.Geometry);
        Assert.Equal(canonical.Voxels.Select(v => v != 0 ? (byte)1 : (byte)0), decoded.Voxels);
        Assert.Equal(12, json.GetProperty("affine").GetArrayLength());
        var perSlice = Enumerable.Range(0, canonical.Dims.Z).Select(z => canonical.Slice(z).ToArray().Count(v => v != 0)).ToList();
        if (perSlice.Max() > 0) Assert.Equal(perSlice.IndexOf(perSlice.Max()), json.GetProperty("largestLesionSlice").GetInt32());
        else Assert.Equal(JsonValueKind.Null, json.GetProperty("largestLesionSlice").ValueKind);
        Assert.Equal(3, json.GetProperty("origin").GetArrayLength());
        var thumbnail = await client.GetAsync($"/api/cases/{caseId}/thumbnail.png");
        Assert.Equal("image/png", thumbnail.Content.Headers.ContentType!.MediaType);
    }
}
