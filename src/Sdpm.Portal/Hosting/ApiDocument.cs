using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Sdpm.Portal.Hosting;

/// <summary>Describes the API as a whole: what it is and how scripts authenticate (personal API tokens).</summary>
internal sealed class ApiDocument : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Sdpm.Portal API",
            Version = "v1",
            Description = "Cohorts, cases, slices, uploads, annotations and dataset splits of the Sdpm.Portal. Authenticate with a personal API token " +
                "(created on your profile page): `Authorization: Bearer sdpm_…`. The token acts with your roles and sites.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "A personal API token (sdpm_…).",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        return Task.CompletedTask;
    }
}
