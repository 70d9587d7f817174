using MudBlazor;
using MudBlazor.Services;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sdpm.Portal.Features.Annotations;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Jobs;
using Sdpm.Portal.Features.Leaderboards;
using Sdpm.Portal.Features.Tokens;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Splits;
using Sdpm.Portal.Features.Users;

namespace Sdpm.Portal.Hosting;

/// <summary>Blazor, MudBlazor and the feature services behind the pages.</summary>
public static class UiRegistration
{
    public const string DefaultUrl = "http://127.0.0.1:5000";

    public static WebApplicationBuilder AddPortalFeatures(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AuditLog>();
        builder.Services.AddSingleton<AuditQueries>();
        builder.Services.AddSingleton<SiteService>();
        builder.Services.AddSingleton<UserAdminService>();
        builder.Services.AddMemoryCache();
        builder.Services.AddSingleton<ApiTokenService>();
        builder.AddCohorts();
        builder.Services.AddAnnotations();
        builder.Services.AddSplits();
        builder.AddJobs();
        builder.AddLeaderboards();
        // Scripts read enums as words ("infarct", "imported"), and the API is described at /openapi/v1.json.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ApiDocument>());
        return builder;
    }

    public static WebApplicationBuilder AddPortalUi(this WebApplicationBuilder builder)
    {
        // Package assets (_content/MudBlazor, the Blazor script) come from the build's static web asset
        // manifest in every environment, not only in Development.
        builder.WebHost.UseStaticWebAssets();
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            // Loopback only unless ASPNETCORE_URLS or --urls says otherwise.
            builder.WebHost.UseUrls(DefaultUrl);
        }
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices(o =>
        {
            o.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight;
            o.SnackbarConfiguration.PreventDuplicates = false;
            o.SnackbarConfiguration.VisibleStateDuration = 6000;
        });
        return builder;
    }
}
