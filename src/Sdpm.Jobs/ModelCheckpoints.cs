using System.Security.Cryptography;
using Sdpm.Data.Entities;
using Sdpm.Storage;

namespace Sdpm.Jobs;

/// <summary>A model version's checkpoint out of the blob store, verified by its SHA-256 before anything uses it.</summary>
public static class ModelCheckpoints
{
    /// <summary>Copies the checkpoint to <paramref name="path"/> (through a temporary file) and checks that its content
    /// hashes to the recorded name; a missing or corrupt blob is an <see cref="InvalidDataException"/> that says which
    /// model version and what to do, and leaves no file behind.</summary>
    public static void FetchVerified(IBlobStore blobs, ModelVersion model, string path, CancellationToken ct = default)
    {
        if (!BlobHash.IsValid(model.CheckpointBlob))
            throw new InvalidDataException($"Model version {model.Id} (\"{model.Name}\") records no valid checkpoint hash.");
        if (blobs.Find(model.CheckpointBlob) is null)
            throw new InvalidDataException($"The checkpoint of model version {model.Id} (\"{model.Name}\") is missing from the blob store " +
                                           $"(blob {model.CheckpointBlob}): restore the blob folder from a backup, or train the model again.");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".part";
        string actual;
        try
        {
            using (var source = blobs.OpenRead(model.CheckpointBlob))
            using (var target = File.Create(temporary))
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = source.Read(buffer)) > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    sha.AppendData(buffer.AsSpan(0, n));
                    target.Write(buffer, 0, n);
                }
                actual = Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            if (!string.Equals(actual, model.CheckpointBlob, StringComparison.Ordinal))
                throw new InvalidDataException($"The checkpoint of model version {model.Id} (\"{model.Name}\") is corrupt: its content hashes to " +
                                               $"{actual[..12]}…, not to its recorded SHA-256 {model.CheckpointBlob[..12]}…; restore the blob from a backup, or train the model again.");
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
