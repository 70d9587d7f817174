namespace Sdpm.Portal.Features.Annotations;

public static class AnnotationsRegistration
{
    /// <summary>Assignments, annotations, review, agreement and the thinning of autosaved revisions.</summary>
    public static IServiceCollection AddAnnotations(this IServiceCollection services)
    {
        services.AddOptions<AnnotationOptions>().BindConfiguration(AnnotationOptions.Section);
        services.AddSingleton<AnnotationService>();
        services.AddSingleton<AgreementService>();
        services.AddSingleton<RevisionPruner>();
        return services;
    }
}
