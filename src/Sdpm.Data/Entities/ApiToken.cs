namespace Sdpm.Data.Entities;

/// <summary>A personal API token: acts with its owner's roles and sites. Only a hash of the secret is stored.</summary>
public class ApiToken
{
    public const int NameMaxLength = 80;

    public int Id { get; set; }
    public string UserId { get; set; } = "";
    public PortalUser? User { get; set; }
    public string Name { get; set; } = "";

    /// <summary>The first characters of the token, shown to tell tokens apart; not enough to use it.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>SHA-256 (hex) of the whole token.</summary>
    public string Hash { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
