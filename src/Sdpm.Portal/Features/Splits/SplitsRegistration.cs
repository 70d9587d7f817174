namespace Sdpm.Portal.Features.Splits;

public static class SplitsRegistration
{
    /// <summary>Dataset splits: previews, drafts, copies, nnU-Net import and export, freezing.</summary>
    public static IServiceCollection AddSplits(this IServiceCollection services)
    {
        services.AddSingleton<SplitService>();
        return services;
    }
}
