using System.Security.Claims;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;

namespace Sdpm.Portal.Features.Account;

/// <summary>HTTP endpoints of the account area that are not pages.</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        // A form post (with its antiforgery token) from the app bar's sign-out button.
        app.MapPost("/Account/Logout", async (ClaimsPrincipal user, SignInManager<PortalUser> signIn, PortalDbContext db, AuditLog audit, [FromForm] string? returnUrl) =>
        {
            audit.Record(db, Actor.From(user), AuditActions.LoggedOut, "User", user.FindFirstValue(ClaimTypes.NameIdentifier));
            await db.SaveChangesAsync();
            await signIn.SignOutAsync();
            return TypedResults.LocalRedirect("~/Account/Login");
        }).RequireAuthorization();
        return app;
    }
}
