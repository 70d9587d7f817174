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
            // Pages get the error page. The API gets a ProblemDetails: re-executing the page for a PUT, PATCH or POST
            // answered 405, which a script takes for its own mistake.
            app.UseWhen(ctx => !IsApi(ctx), branch => branch.UseExceptionHandler("/Error", createScopeForErrors: true));
            app.UseWhen(IsApi, branch => branch.UseExceptionHandler(error => error.Run(WriteApiErrorAsync)));
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

    private static bool IsApi(HttpContext context) => context.Request.Path.StartsWithSegments("/api");

    /// <summary>An unhandled failure of an API request: 503 when the database could not be reached (a restart, a network
    /// cut; the request is not acknowledged and may be sent again), 500 otherwise.</summary>
    private static Task WriteApiErrorAsync(HttpContext context)
    {
        var error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
        var database = false;
        for (var e = error; e is not null; e = e.InnerException)
        {
            database |= e is System.Data.Common.DbException;
        }
        return database
            ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The database could not be reached; this request was not acknowledged. Try again in a moment.").ExecuteAsync(context)
            : Results.Problem(statusCode: StatusCodes.Status500InternalServerError,
                title: "The server failed on this request; it was not acknowledged. The portal's log has the details.").ExecuteAsync(context);
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
