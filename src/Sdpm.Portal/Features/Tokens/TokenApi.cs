using System.Security.Claims;
using Sdpm.Portal.Features.Audit;

namespace Sdpm.Portal.Features.Tokens;

/// <summary>The caller's own API tokens: listed and revoked over the API; created on the profile page, where the
/// secret can be shown once to a person.</summary>
public static class TokenApi
{
    public static IEndpointRouteBuilder MapTokenApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/tokens").RequireAuthorization().WithTags("Tokens");
        api.MapGet("", async (ClaimsPrincipal user, ApiTokenService tokens, CancellationToken ct) =>
            TypedResults.Ok(await tokens.ListAsync(user.FindFirstValue(ClaimTypes.NameIdentifier)!, ct)))
            .WithSummary("Your API tokens (never their secrets).");
        api.MapDelete("/{tokenId:int}", async (int tokenId, ClaimsPrincipal user, ApiTokenService tokens, CancellationToken ct) =>
        {
            var result = await tokens.RevokeAsync(user.FindFirstValue(ClaimTypes.NameIdentifier)!, tokenId, Actor.From(user), ct);
            return result.Succeeded ? Results.NoContent() : Results.Problem(statusCode: 404, title: result.Error);
        }).WithSummary("Revokes one of your tokens at once.");
        return app;
    }
}
