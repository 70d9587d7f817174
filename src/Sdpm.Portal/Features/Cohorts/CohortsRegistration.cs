using Microsoft.Extensions.Options;
using Sdpm.Portal.Features.Cohorts.Export;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Portal.Hosting;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Registers the blob store, uploads, cohorts and cases.</summary>
public static class CohortsRegistration
{
    public static WebApplicationBuilder AddCohorts(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        services.AddOptions<UploadOptions>().BindConfiguration(UploadOptions.Section);
        services.AddSingleton<IBlobStore>(sp =>
        {
            var portal = sp.GetRequiredService<IOptions<PortalOptions>>().Value;
            var folder = sp.GetRequiredService<IOptions<StorageOptions>>().Value.BlobFolder;
            var root = Path.Combine(portal.ResolveDataFolder(sp.GetRequiredService<IWebHostEnvironment>().ContentRootPath), folder);
            return new FileSystemBlobStore(root, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<UploadStaging>();
        services.AddSingleton<CaseImporter>();
        services.AddSingleton<ImportHistoryQueries>();
        services.AddSingleton<CohortService>();
        services.AddSingleton<CaseService>();
        services.AddSingleton<CohortExport>();
        services.AddSingleton<BlobSweepService>();
        services.AddHostedService(sp => sp.GetRequiredService<BlobSweepService>());
        services.AddSingleton<Data.DemoCohortSeeder>();
        services.AddHostedService(sp => sp.GetRequiredService<Data.DemoCohortSeeder>());
        return builder;
    }

    public static IEndpointRouteBuilder MapCohorts(this IEndpointRouteBuilder app)
    {
        app.MapCohortApi();
        app.MapUploadApi();
        return app;
    }
}
