using Sdpm.Portal.Features.Jobs;
using Sdpm.Portal.Features.Leaderboards;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Sdpm.Portal.Components;
using Sdpm.Portal.Features.Account;
using Sdpm.Portal.Features.Annotations;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Tokens;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Splits;

namespace Sdpm.Portal.Hosting;

/// <summary>The request pipeline and every endpoint the portal maps.</summary>
public static class Pipeline
{
    public static WebApplication UsePortalPipeline(this WebApplication app)
    {
        app.UsePortalSecurity();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }
        // Browsers asking for a page get a readable status page; APIs and form posts keep their bare status.
        app.UseWhen(
            ctx => HttpMethods.IsGet(ctx.Request.Method) && !ctx.Request.Path.StartsWithSegments("/api"),
            branch => branch.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));
        // The repository's wwwroot (css, browser modules, images), served before routing picks an endpoint.
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseMiddleware<MustChangePasswordMiddleware>();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    public static WebApplication MapPortalEndpoints(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.MapAccountEndpoints();
        app.MapSiteApi();
        app.MapTokenApi();
        app.MapCohorts();
        app.MapAnnotationApi();
        app.MapSplitApi();
        app.MapJobApi();
        app.MapLeaderboardApi();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = WriteHealthAsync }).AllowAnonymous();
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
