using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>A portal whose uploads are limited to 1 MiB.</summary>
public sealed class SmallUploadPortal() : CohortPortal(new Dictionary<string, string?> { ["Uploads:MaxBytes"] = "1048576" });

/// <summary>How upload bytes travel: the size limit, a body cut off half-way, resumable sessions.</summary>
public class UploadTransportTests(SmallUploadPortal portal) : IClassFixture<SmallUploadPortal>
{
    [Fact]
    public async Task AnUploadAnnouncedOverTheLimitIsRefusedWithTheLimitNamed()
    {
        var cohort = await portal.CreateCohortAsync("Too large announced");
        using var client = portal.As("coordinator");
        using var content = new ByteArrayContent(new byte[2 << 20]);

        using var response = await client.PostAsync($"/api/cohorts/{cohort}/uploads?fileName=big.nii.gz", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("1 MiB", problem.GetProperty("title").GetString());
        Assert.Contains("Uploads:MaxBytes", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task AStreamedUploadThatGrowsOverTheLimitIsRefusedAndLeavesNothing()
    {
        var cohort = await portal.CreateCohortAsync("Too large streamed");
        using var client = portal.As("coordinator");
        using var content = new StreamContent(new SlowStream(3 << 20, failAfter: null)); // no Content-Length

        using var response = await client.PostAsync($"/api/cohorts/{cohort}/uploads?fileName=big.zip", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(portal.UploadsFolder));
        Assert.Equal(0, await portal.DbAsync(db => db.ImportBatches.CountAsync(b => b.CohortId == cohort)));
    }

    [Fact]
    public async Task AnUploadCutOffHalfWayImportsNothingAndLeavesNoFiles()
    {
        using var files = new TestCases();
        files.WriteNifti("cut", "a", TestCases.Case(1));
        var zip = File.ReadAllBytes(files.Zip("cut", "cut.zip"));
        var cohort = await portal.CreateCohortAsync("Cut off");
        var blobs = portal.BlobNames();
        using var client = portal.As("coordinator");
        using var dropped = new CancellationTokenSource();
        using var content = new StreamContent(new SlowStream(zip.Length, failAfter: zip.Length / 2, source: zip, onFail: dropped.Cancel));

        // The connection drops half-way: the client gives up and the server sees the request aborted.
        await Assert.ThrowsAnyAsync<Exception>(() => client.PostAsync($"/api/cohorts/{cohort}/uploads?fileName=cut.zip", content, dropped.Token));

        await WaitUntilAsync(() => !Directory.EnumerateFileSystemEntries(portal.UploadsFolder).Any());
        Assert.Equal(0, await portal.DbAsync(db => db.Cases.CountAsync(c => c.CohortId == cohort)));
        Assert.Equal(0, await portal.DbAsync(db => db.ImportBatches.CountAsync(b => b.CohortId == cohort)));
        Assert.Equal(blobs, portal.BlobNames());
    }

    [Fact]
    public async Task ASessionResumesAFileFromTheBytesTheServerHolds()
    {
        using var files = new TestCases();
        var image = File.ReadAllBytes(files.WriteNifti("resume", "r", TestCases.Case(2), withMask: false));
        var cohort = await portal.CreateCohortAsync("Resumed");
        using var client = portal.As("coordinator");
        var created = await client.PostAsync($"/api/cohorts/{cohort}/upload-sessions", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var session = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var url = $"/api/cohorts/{cohort}/upload-sessions/{session}";
        var half = image.Length / 2;

        var first = await client.PutAsync($"{url}/files?path=scans/r.nii.gz&offset=0", new ByteArrayContent(image[..half]));
        var wrong = await client.PutAsync($"{url}/files?path=scans/r.nii.gz&offset=0", new ByteArrayContent(image[half..]));
        var held = await client.GetFromJsonAsync<JsonElement>(url);
        var rest = await client.PutAsync($"{url}/files?path=scans/r.nii.gz&offset={half}", new ByteArrayContent(image[half..]));
        var import = await client.PostAsync($"{url}/import", null);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, wrong.StatusCode);
        Assert.Equal(half, (await wrong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("size").GetInt64());
        Assert.Equal(half, held.GetProperty("files")[0].GetProperty("size").GetInt64());
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        var result = await import.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, result.GetProperty("imported").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(url)).StatusCode); // a fully imported session is gone
    }

    [Fact]
    public async Task ASessionRefusesPathsOutsideItAndOtherUsersSessions()
    {
        var cohort = await portal.CreateCohortAsync("Session paths");
        using var client = portal.As("coordinator");
        var session = (await (await client.PostAsync($"/api/cohorts/{cohort}/upload-sessions", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        var escape = await client.PutAsync($"/api/cohorts/{cohort}/upload-sessions/{session}/files?path=../../x.nii&offset=0", new ByteArrayContent([1, 2, 3]));
        var absolute = await client.PutAsync($"/api/cohorts/{cohort}/upload-sessions/{session}/files?path=/etc/x&offset=0", new ByteArrayContent([1]));
        var otherCohort = await portal.CreateCohortAsync("Session paths 2");
        var wrongCohort = await client.GetAsync($"/api/cohorts/{otherCohort}/upload-sessions/{session}");

        Assert.Equal(HttpStatusCode.BadRequest, escape.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, absolute.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, wrongCohort.StatusCode);
        Assert.False(File.Exists(Path.Combine(portal.UploadsFolder, "x.nii")));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition());
    }

    /// <summary>A body that yields bytes in small pieces and can fail part-way like a dropped connection.</summary>
    private sealed class SlowStream(long length, long? failAfter, byte[]? source = null, Action? onFail = null) : Stream
    {
        private long position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (failAfter is { } f && position >= f)
            {
                onFail?.Invoke();
                throw new IOException("The connection was reset.");
            }
            var n = (int)Math.Min(Math.Min(count, 64 * 1024), length - position);
            if (n <= 0) return 0;
            if (source is not null) Array.Copy(source, position, buffer, offset, n);
            position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
