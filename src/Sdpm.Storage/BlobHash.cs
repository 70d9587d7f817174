namespace Sdpm.Storage;

/// <summary>The naming rule of blobs: 64 lower-case hex digits of a SHA-256.</summary>
public static class BlobHash
{
    public const int Length = 64;

    /// <summary>True for a well-formed blob name; anything else (a path, "..", upper case) is refused before touching disk.</summary>
    public static bool IsValid(string? hash)
    {
        if (hash is null || hash.Length != Length) return false;
        foreach (var c in hash)
        {
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        }
        return true;
    }

    public static void Check(string hash)
    {
        if (!IsValid(hash)) throw new ArgumentException($"'{hash}' is not a blob hash (64 lower-case hex digits).", nameof(hash));
    }
}
