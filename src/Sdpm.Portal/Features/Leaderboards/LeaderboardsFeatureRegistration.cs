namespace Sdpm.Portal.Features.Leaderboards;

public static class LeaderboardsFeatureRegistration
{
    /// <summary>Leaderboards over stored per-case metrics, and the upkeep that rescores predictions whose reference changed.</summary>
    public static WebApplicationBuilder AddLeaderboards(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<LeaderboardOptions>(builder.Configuration.GetSection(LeaderboardOptions.Section));
        builder.Services.AddSingleton<LeaderboardService>();
        builder.Services.AddSingleton<PredictionUpkeep>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PredictionUpkeep>());
        return builder;
    }
}
