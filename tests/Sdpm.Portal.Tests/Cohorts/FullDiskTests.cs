using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>A disk that fills up during a real upload (the HTTP API, as scripts and the browser send it): while a case's
/// blobs are stored, or while the upload's body is staged before the import. The user gets a message an admin can act
/// on, nothing half-written is visible, and the same upload succeeds once there is room again.</summary>
public class FullDiskTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task ACaseThatCannotBeStoredIsRefusedAndLeavesNothingVisible()
    {
        using var files = new TestCases();
        files.WriteNifti("disk", "full", TestCases.Case(2, seed: 41));
        var zip = files.Zip("disk", "disk.zip");
        var cohort = await portal.CreateCohortAsync("Full disk");
        var store = (FileSystemBlobStore)portal.Blobs;
        var before = portal.BlobNames();

        store.WrapTempStream = inner => new FullDisk(inner, 4096);
        (System.Net.HttpStatusCode Status, System.Text.Json.JsonElement Body) refused;
        try
        {
            refused = await portal.UploadAsync(cohort, zip);
        }
        finally
        {
            store.WrapTempStream = null;
        }
        var accepted = await portal.UploadAsync(cohort, zip);

        var row = refused.Body.GetProperty("cases")[0];
        Assert.Equal("refused", row.GetProperty("status").GetString());
        Assert.Contains("could not store this case", row.GetProperty("reason").GetString());
        Assert.Contains("No space left on device", row.GetProperty("reason").GetString());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(store.Root, FileSystemBlobStore.TempFolderName)));
        Assert.Equal("imported", accepted.Body.GetProperty("cases")[0].GetProperty("status").GetString());
        Assert.Equal(1, await portal.DbAsync(db => db.Cases.CountAsync(c => c.CohortId == cohort)));
        Assert.Equal(3, portal.BlobNames().Except(before).Count()); // volume, mask, thumbnail: once
    }

    [Fact]
    public async Task AnUploadWhoseBodyCannotBeStagedIsRefusedWith507AndLeavesNothingBehind()
    {
        using var files = new TestCases();
        files.WriteNifti("staged", "full", TestCases.Case(3, seed: 42));
        var zip = files.Zip("staged", "staged.zip");
        var cohort = await portal.CreateCohortAsync("Full disk while staging");
        var staging = portal.Service<UploadStaging>();
        var blobs = portal.BlobNames();
        var sessions = Directory.EnumerateFileSystemEntries(portal.UploadsFolder).ToList();

        staging.WrapStagingStream = inner => new FullDisk(inner, 1000);
        (HttpStatusCode Status, JsonElement Body) refused;
        try
        {
            refused = await portal.UploadAsync(cohort, zip);
        }
        finally
        {
            staging.WrapStagingStream = null;
        }

        Assert.Equal(HttpStatusCode.InsufficientStorage, refused.Status);
        Assert.Contains("No space left on device", refused.Body.GetProperty("title").GetString());
        Assert.Contains("Nothing of this request was kept", refused.Body.GetProperty("title").GetString());
        Assert.Equal(sessions, Directory.EnumerateFileSystemEntries(portal.UploadsFolder).ToList()); // the staged part is gone
        Assert.Equal(0, await portal.DbAsync(db => db.ImportBatches.CountAsync(b => b.CohortId == cohort))); // no import began
        Assert.Equal(blobs, portal.BlobNames());
        var accepted = await portal.UploadAsync(cohort, zip);
        Assert.Equal("imported", accepted.Body.GetProperty("cases")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task ASessionChunkThatCannotBeStoredIsRefusedWith507AndTheFileResumesFromTheBytesHeldBefore()
    {
        using var files = new TestCases();
        var image = File.ReadAllBytes(files.WriteNifti("chunks", "c", TestCases.Case(4, seed: 43), withMask: false));
        var cohort = await portal.CreateCohortAsync("Full disk in a session");
        var staging = portal.Service<UploadStaging>();
        using var client = portal.As("coordinator");
        var session = (await (await client.PostAsync($"/api/cohorts/{cohort}/upload-sessions", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var url = $"/api/cohorts/{cohort}/upload-sessions/{session}";
        var half = image.Length / 2;
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"{url}/files?path=c.nii.gz&offset=0", new ByteArrayContent(image[..half]))).StatusCode);

        staging.WrapStagingStream = inner => new FullDisk(inner, 100); // the disk fills up during the second chunk
        HttpResponseMessage refused;
        try
        {
            refused = await client.PutAsync($"{url}/files?path=c.nii.gz&offset={half}", new ByteArrayContent(image[half..]));
        }
        finally
        {
            staging.WrapStagingStream = null;
        }
        var held = await client.GetFromJsonAsync<JsonElement>(url);
        var rest = await client.PutAsync($"{url}/files?path=c.nii.gz&offset={half}", new ByteArrayContent(image[half..]));
        var import = await client.PostAsync($"{url}/import", null);

        Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains($"from byte {half}", problem.GetProperty("title").GetString());
        Assert.Equal(half, problem.GetProperty("size").GetInt64());
        Assert.Equal(half, held.GetProperty("files")[0].GetProperty("size").GetInt64()); // the partial chunk was taken back
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(1, (await import.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("imported").GetInt32());
    }

    [Fact]
    public async Task AnAutosaveThatCannotBeStoredIsNotAcknowledgedAndThePreviousVersionStaysWhole()
    {
        using var files = new TestCases();
        files.WriteNifti("save", "s", TestCases.Case(5, seed: 44));
        var cohort = await portal.CreateCohortAsync("Full disk while saving");
        var caseId = (await portal.UploadAsync(cohort, files.Zip("save", "save.zip"))).Body.GetProperty("cases")[0].GetProperty("caseId").GetInt32();
        using (var coordinator = portal.As("coordinator"))
        {
            Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" })).StatusCode);
        }
        var image = await portal.DbAsync(db => db.Cases.Where(c => c.Id == caseId).Select(c => c.ImageBlob).SingleAsync());
        var grid = portal.Blobs.ReadVolumeHeader(image).Geometry;
        using var annotator = portal.As("annotator");
        async Task<HttpResponseMessage> SaveAsync(int voxels, string? ifMatch)
        {
            var mask = new Sdpm.Imaging.Volumes.Volume<byte>(grid);
            for (var i = 0; i < voxels; i++) mask.Voxels[i] = 1;
            using var ms = new MemoryStream();
            Sdpm.Imaging.Nifti.NiftiWriter.Write(ms, mask, gzip: true);
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/cases/{caseId}/annotations/mine") { Content = new ByteArrayContent(ms.ToArray()) };
            if (ifMatch is not null) request.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue($"\"{ifMatch}\""));
            return await annotator.SendAsync(request);
        }
        Assert.Equal(HttpStatusCode.OK, (await SaveAsync(40, null)).StatusCode);
        var store = (FileSystemBlobStore)portal.Blobs;

        store.WrapTempStream = inner => new FullDisk(inner, 16);
        HttpResponseMessage refused;
        try
        {
            refused = await SaveAsync(90, "1");
        }
        finally
        {
            store.WrapTempStream = null;
        }

        // Not acknowledged, and said so (not the 405 that re-executing the error page gave a PUT).
        Assert.Equal(HttpStatusCode.InternalServerError, refused.StatusCode);
        Assert.Contains("not acknowledged", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        var stored = await portal.DbAsync(db => db.Annotations.AsNoTracking().SingleAsync(a => a.CaseId == caseId));
        Assert.Equal(1, stored.Version);
        Assert.Equal(40, portal.Blobs.ReadMask(stored.MaskBlob!, grid).Voxels.Count(v => v != 0));
        Assert.Empty(Directory.EnumerateFiles(store.TempFolder));
        var next = await SaveAsync(90, "1"); // once there is room, the same save goes through
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("\"2\"", next.Headers.ETag!.Tag);
    }

    /// <summary>Accepts a number of bytes, then fails like a full file system.</summary>
    private sealed class FullDisk(Stream inner, long room) : Stream
    {
        private long written;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (written + buffer.Length > room) throw new IOException("No space left on device");
            inner.Write(buffer);
            written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
