using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;

namespace Sdpm.Portal.Features.Tokens;

/// <summary>A token as its owner sees it in lists: never the secret.</summary>
public sealed record ApiTokenSummary(int Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>A freshly created token: the secret is shown this once and never again.</summary>
public sealed record CreatedApiToken(ApiTokenSummary Token, string Secret);

/// <summary>Personal API tokens: created and revoked by their owner, stored as SHA-256 hashes, audited.</summary>
public sealed class ApiTokenService(IDbContextFactory<PortalDbContext> contexts, AuditLog audit, TimeProvider time, Microsoft.Extensions.Caching.Memory.IMemoryCache cache)
{
    public const string SecretPrefix = "sdpm_";
    public const int MaxActivePerUser = 20;
    public const int MaxLifetimeDays = 3650;
    private const int PrefixLength = 12;
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<IReadOnlyList<ApiTokenSummary>> ListAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId).ToListAsync(ct);
        return rows.OrderByDescending(t => t.CreatedAt).Select(Summary).ToList();
    }

    public async Task<OperationResult<CreatedApiToken>> CreateAsync(string userId, string? name, int? lifetimeDays, Actor actor, CancellationToken ct = default)
    {
        var clean = name?.Trim() ?? "";
        if (clean.Length == 0)
        {
            return OperationResult<CreatedApiToken>.Fail("Give the token a name that says where it is used, for example \"nightly export script\".");
        }
        if (clean.Length > ApiToken.NameMaxLength)
        {
            return OperationResult<CreatedApiToken>.Fail($"The name has {clean.Length} characters; at most {ApiToken.NameMaxLength} are allowed.");
        }
        if (lifetimeDays is < 1 or > MaxLifetimeDays)
        {
            return OperationResult<CreatedApiToken>.Fail($"A token lives 1 to {MaxLifetimeDays} days, or without an end date.");
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var active = await db.ApiTokens.CountAsync(t => t.UserId == userId && t.RevokedAt == null && (t.ExpiresAt == null || t.ExpiresAt > now), ct);
        if (active >= MaxActivePerUser)
        {
            return OperationResult<CreatedApiToken>.Fail($"You already have {active} active tokens; revoke one you no longer use first.");
        }
        var (token, secret) = NewToken(userId, clean, now, lifetimeDays is { } d ? now.AddDays(d) : null);
        db.ApiTokens.Add(token);
        await db.SaveChangesAsync(ct);
        audit.Record(db, actor, AuditActions.TokenCreated, "ApiToken", token.Id.ToString(), $"\"{clean}\" ({token.Prefix}…)");
        await db.SaveChangesAsync(ct);
        return OperationResult<CreatedApiToken>.Ok(new CreatedApiToken(Summary(token), secret));
    }

    /// <summary>A new token row and its secret (for callers that save it in their own transaction, like seeding).</summary>
    public static (ApiToken Token, string Secret) NewToken(string userId, string name, DateTimeOffset now, DateTimeOffset? expiresAt)
    {
        var secret = SecretPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        return (new ApiToken
        {
            UserId = userId,
            Name = name,
            Prefix = secret[..PrefixLength],
            Hash = HashOf(secret),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        }, secret);
    }

    public async Task<OperationResult> RevokeAsync(string userId, int tokenId, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Id == tokenId && t.UserId == userId, ct);
        if (token is null)
        {
            return OperationResult.Fail("No such token of yours.");
        }
        if (token.RevokedAt is not null)
        {
            return OperationResult.Ok;
        }
        token.RevokedAt = time.GetUtcNow();
        audit.Record(db, actor, AuditActions.TokenRevoked, "ApiToken", token.Id.ToString(), $"\"{token.Name}\" ({token.Prefix}…)");
        await db.SaveChangesAsync(ct);
        cache.Remove(ApiTokenAuthenticationHandler.CacheKey(token.Hash));
        return OperationResult.Ok;
    }

    /// <summary>The owner of an active token, or null; records when it was last used (to the minute).</summary>
    public async Task<string?> AuthenticateAsync(string secret, CancellationToken ct = default)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 200)
        {
            return null;
        }
        var hash = HashOf(secret);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Hash == hash, ct);
        var now = time.GetUtcNow();
        if (token is null || token.RevokedAt is not null || token.ExpiresAt <= now)
        {
            return null;
        }
        if (token.LastUsedAt is null || now - token.LastUsedAt > LastUsedResolution)
        {
            await db.ApiTokens.Where(t => t.Id == token.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), ct);
        }
        return token.UserId;
    }

    public static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static ApiTokenSummary Summary(ApiToken t) => new(t.Id, t.Name, t.Prefix, t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt);
}
