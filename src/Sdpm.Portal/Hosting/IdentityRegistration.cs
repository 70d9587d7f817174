using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Features.Tokens;

namespace Sdpm.Portal.Hosting;

/// <summary>Identity (accounts, lockout, password policy), the sign-in cookie and the authorization policies.</summary>
public static class IdentityRegistration
{
    public const int MaxFailedAttempts = 5;
    private const string CookieOrToken = "CookieOrToken";
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    public static WebApplicationBuilder AddPortalIdentity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, RevalidatingAuthStateProvider>();

        // Browsers carry the Identity cookie, scripts a personal API token; the same policies apply to both.
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieOrToken;
                o.DefaultSignInScheme = IdentityConstants.ExternalScheme;
            })
            // Tokens are for scripts: they count on /api only; pages and the circuit always need the cookie.
            .AddPolicyScheme(CookieOrToken, "Cookie or API token", o => o.ForwardDefaultSelector = ctx =>
                ctx.Request.Path.StartsWithSegments("/api") && ApiTokenAuthenticationHandler.BearerOf(ctx.Request) is not null
                    ? ApiTokenAuthenticationHandler.SchemeName
                    : IdentityConstants.ApplicationScheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.SchemeName, null)
            .AddIdentityCookies();

        services.AddIdentityCore<PortalUser>(o =>
            {
                o.SignIn.RequireConfirmedAccount = true; // "confirmed" means approved by an admin, see ApprovedAccountConfirmation
                o.User.RequireUniqueEmail = true;
                o.User.AllowedUserNameCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._@";
                o.Password.RequiredLength = 12;
                o.Password.RequireDigit = true;
                o.Password.RequireLowercase = true;
                o.Password.RequireUppercase = true;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredUniqueChars = 5;
                o.Lockout.AllowedForNewUsers = true;
                o.Lockout.MaxFailedAccessAttempts = MaxFailedAttempts;
                o.Lockout.DefaultLockoutTimeSpan = LockoutDuration;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<PortalDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders()
            .AddClaimsPrincipalFactory<PortalClaimsFactory>();
        services.AddScoped<IUserConfirmation<PortalUser>, ApprovedAccountConfirmation>();
        // A locked account or a reset password ends every other session within a minute.
        services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.FromMinutes(1));

        services.ConfigureApplicationCookie(o =>
        {
            o.LoginPath = "/Account/Login";
            o.LogoutPath = "/Account/Logout";
            o.AccessDeniedPath = "/Account/AccessDenied";
            o.Cookie.Name = "sdpm.auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.SlidingExpiration = true;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            // APIs answer with status codes, pages with redirects.
            o.Events.OnRedirectToLogin = ctx => RedirectOrStatus(ctx, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = ctx => RedirectOrStatus(ctx, StatusCodes.Status403Forbidden);
        });

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.Coordinator, p => p.RequireRole(Roles.Coordinator))
            .AddPolicy(Policies.Annotator, p => p.RequireRole(Roles.Annotator))
            .AddPolicy(Policies.Investigator, p => p.RequireRole(Roles.Investigator))
            .AddPolicy(Policies.SiteMember, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement()))
            .AddPolicy(Policies.SiteCoordinator, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Coordinator)))
            .AddPolicy(Policies.SiteAnnotator, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Annotator)))
            .AddPolicy(Policies.SiteReviewer, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Coordinator, Roles.Investigator)))
            .AddPolicy(Policies.SiteExporter, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Coordinator, Roles.Investigator)))
            .AddPolicy(Policies.SiteInvestigator, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Investigator)))
            .AddPolicy(Policies.SplitInvestigator, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Investigator)))
            .AddPolicy(Policies.JobInvestigator, p => p.RequireAuthenticatedUser().AddRequirements(new SiteMemberRequirement(Roles.Investigator)));
        services.AddScoped<IAuthorizationHandler, SiteMemberHandler>();
        return builder;
    }

    private static Task RedirectOrStatus(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> ctx, int status)
    {
        if (ctx.Request.Path.StartsWithSegments("/api"))
        {
            ctx.Response.StatusCode = status;
        }
        else
        {
            ctx.Response.Redirect(ctx.RedirectUri);
        }
        return Task.CompletedTask;
    }
}
