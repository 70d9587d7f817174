using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using System.Security.Claims;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Tokens;

/// <summary>Authenticates <c>Authorization: Bearer sdpm_…</c> as the token's owner, with the owner's roles (a locked or
/// deleted owner, a revoked or expired token: 401). The owner's principal is kept for <see cref="PrincipalLifetime"/>,
/// as a sign-in cookie keeps its claims until the next security-stamp check: a script reading slices would otherwise
/// cost six queries a request. Revoking a token evicts it at once; sites are checked per request anyway.</summary>
internal sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiTokenService tokens,
    UserManager<PortalUser> users,
    IUserClaimsPrincipalFactory<PortalUser> principals,
    IMemoryCache cache) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiToken";

    public static readonly TimeSpan PrincipalLifetime = TimeSpan.FromSeconds(30);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerOf(Request) is not { } secret)
        {
            return AuthenticateResult.NoResult();
        }
        var key = CacheKey(ApiTokenService.HashOf(secret));
        if (!cache.TryGetValue(key, out ClaimsPrincipal? principal) || principal is null)
        {
            var userId = await tokens.AuthenticateAsync(secret, Context.RequestAborted);
            var user = userId is null ? null : await users.FindByIdAsync(userId);
            if (user is null || !user.IsApproved || await users.IsLockedOutAsync(user))
            {
                return AuthenticateResult.Fail("The API token is unknown, revoked or expired, or its owner cannot sign in.");
            }
            principal = await principals.CreateAsync(user);
            cache.Set(key, principal, PrincipalLifetime);
        }
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    internal static string CacheKey(string tokenHash) => "api-token:" + tokenHash;

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    internal static string? BearerOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}
