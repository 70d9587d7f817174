namespace Sdpm.Portal.Tests.Security;

/// <summary>Who may reach an endpoint.</summary>
public enum Access
{
    Anonymous,
    Authenticated,
    Admin,
    /// <summary>An active member of the site that owns the route's site, cohort or case (admins only when they are members).</summary>
    SiteMember,
    /// <summary>A <see cref="Access.SiteMember"/> who also holds the Coordinator role.</summary>
    SiteCoordinator,
    /// <summary>A <see cref="Access.SiteMember"/> who also holds the Annotator role.</summary>
    SiteAnnotator,
    /// <summary>A <see cref="Access.SiteMember"/> who is a Coordinator or an Investigator (they review annotations).</summary>
    SiteReviewer,
    /// <summary>Anyone holding the Annotator role (their own work queue).</summary>
    AnnotatorRole,
    /// <summary>A <see cref="Access.SiteMember"/> who is a Coordinator or an Investigator: they may take a whole cohort out of the
    /// portal (annotators download case by case only).</summary>
    SiteExporter,
    /// <summary>Anyone holding the Investigator role (their splits; cohort ids in a body are checked by the endpoint).</summary>
    InvestigatorRole,
    /// <summary>A <see cref="Access.SiteMember"/> who also holds the Investigator role.</summary>
    SiteInvestigator,
    /// <summary>An investigator who is an active member of every site the route's split covers.</summary>
    SplitInvestigator,
    /// <summary>An investigator who is an active member of every site the route's job or model version covers.</summary>
    JobInvestigator,
}

/// <summary>Who may call an endpoint and the exact status an allowed caller gets with the matrix's sample request
/// (<see cref="SampleRequests"/>). More than one status only where the table says why.</summary>
public sealed record Expectation(Access Access, int[] Allowed);

/// <summary>
/// The expectation table: every method of every page and endpoint of the portal. A new endpoint or method fails
/// <see cref="AuthorizationMatrixTests.TheTableCoversExactlyTheAppsEndpoints"/> until it is added here.
/// A caller who is not allowed gets exactly 403 (or, for a page with the sign-in cookie, the redirect to
/// /Account/AccessDenied); a caller who is not signed in exactly 401 under /api and the redirect to /Account/Login elsewhere.
/// </summary>
public static class AccessRules
{
    private const int Ok = 200, Created = 201, NoContent = 204, BadRequest = 400, NotFound = 404, MethodNotAllowed = 405, Conflict = 409;

    public static readonly IReadOnlyDictionary<string, Expectation> Table = new Dictionary<string, Expectation>
    {
        // Pages (Razor components) answer GET and POST. A POST without an antiforgery token (the sample) is refused
        // with 400 by the antiforgery middleware, which runs after authorization.
        ["GET /"] = Rule(Access.Authenticated, Ok),
        ["POST /"] = Rule(Access.Authenticated, BadRequest),
        ["GET /Account/AccessDenied"] = Rule(Access.Anonymous, Ok),
        ["POST /Account/AccessDenied"] = Rule(Access.Anonymous, BadRequest),
        ["GET /Account/ChangePassword"] = Rule(Access.Authenticated, Ok),
        ["POST /Account/ChangePassword"] = Rule(Access.Authenticated, BadRequest),
        ["GET /Account/Login"] = Rule(Access.Anonymous, Ok),
        ["POST /Account/Login"] = Rule(Access.Anonymous, BadRequest),
        ["GET /Account/Register"] = Rule(Access.Anonymous, Ok),
        ["POST /Account/Register"] = Rule(Access.Anonymous, BadRequest),
        ["GET /Error"] = Rule(Access.Anonymous, Ok),
        ["POST /Error"] = Rule(Access.Anonymous, BadRequest),
        ["GET /not-found"] = Rule(Access.Anonymous, Ok),
        ["POST /not-found"] = Rule(Access.Anonymous, BadRequest),
        ["GET /admin/audit"] = Rule(Access.Admin, Ok),
        ["POST /admin/audit"] = Rule(Access.Admin, BadRequest),
        ["GET /admin/sites"] = Rule(Access.Admin, Ok),
        ["POST /admin/sites"] = Rule(Access.Admin, BadRequest),
        ["GET /admin/users"] = Rule(Access.Admin, Ok),
        ["POST /admin/users"] = Rule(Access.Admin, BadRequest),
        ["GET /cases/{CaseId:int}"] = Rule(Access.SiteMember, Ok),
        ["POST /cases/{CaseId:int}"] = Rule(Access.SiteMember, BadRequest),
        ["GET /cohorts"] = Rule(Access.Authenticated, Ok),
        ["POST /cohorts"] = Rule(Access.Authenticated, BadRequest),
        ["GET /cohorts/{CohortId:int}"] = Rule(Access.SiteMember, Ok),
        ["POST /cohorts/{CohortId:int}"] = Rule(Access.SiteMember, BadRequest),
        ["GET /my-work"] = Rule(Access.AnnotatorRole, Ok),
        ["POST /my-work"] = Rule(Access.AnnotatorRole, BadRequest),
        ["GET /cases/{CaseId:int}/annotate"] = Rule(Access.SiteAnnotator, Ok),
        ["POST /cases/{CaseId:int}/annotate"] = Rule(Access.SiteAnnotator, BadRequest),
        ["GET /profile"] = Rule(Access.Authenticated, Ok),
        ["POST /profile"] = Rule(Access.Authenticated, BadRequest),
        ["GET /sites/{SiteId:int}"] = Rule(Access.SiteMember, Ok),
        ["POST /sites/{SiteId:int}"] = Rule(Access.SiteMember, BadRequest),
        ["GET /splits"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /splits"] = Rule(Access.InvestigatorRole, BadRequest),
        ["GET /splits/new"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /splits/new"] = Rule(Access.InvestigatorRole, BadRequest),
        ["GET /splits/{SplitId:int}"] = Rule(Access.SplitInvestigator, Ok),
        ["POST /splits/{SplitId:int}"] = Rule(Access.SplitInvestigator, BadRequest),
        ["GET /jobs"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /jobs"] = Rule(Access.InvestigatorRole, BadRequest),
        ["GET /jobs/new"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /jobs/new"] = Rule(Access.InvestigatorRole, BadRequest),
        ["GET /jobs/{JobId:int}"] = Rule(Access.JobInvestigator, Ok),
        ["POST /jobs/{JobId:int}"] = Rule(Access.JobInvestigator, BadRequest),
        ["GET /models"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /models"] = Rule(Access.InvestigatorRole, BadRequest),
        ["GET /models/compare"] = Rule(Access.InvestigatorRole, Ok),
        ["GET /leaderboards"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /leaderboards"] = Rule(Access.InvestigatorRole, BadRequest),
        ["GET /leaderboards/{SplitId:int}"] = Rule(Access.SplitInvestigator, Ok),
        ["POST /leaderboards/{SplitId:int}"] = Rule(Access.SplitInvestigator, BadRequest),
        ["POST /models/compare"] = Rule(Access.InvestigatorRole, BadRequest),

        // The sign-out form post: without its antiforgery token (the sample) it is refused and signs nobody out.
        ["POST /Account/Logout"] = Rule(Access.Authenticated, BadRequest),

        // Framework endpoints without method metadata answer every method themselves. The Blazor hub's connection
        // endpoint takes GET, POST and DELETE (400 without a connection id) and answers 405 to the others; negotiate
        // takes POST only and disconnect POST only (400 without a circuit), and both answer 405 to the rest; the
        // initializers list answers every method with its JSON.
        ["GET /_blazor"] = Rule(Access.Authenticated, BadRequest),
        ["POST /_blazor"] = Rule(Access.Authenticated, BadRequest),
        ["PUT /_blazor"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["PATCH /_blazor"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["DELETE /_blazor"] = Rule(Access.Authenticated, BadRequest),
        ["GET /_blazor/disconnect/"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["POST /_blazor/disconnect/"] = Rule(Access.Authenticated, BadRequest),
        ["PUT /_blazor/disconnect/"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["PATCH /_blazor/disconnect/"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["DELETE /_blazor/disconnect/"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["GET /_blazor/initializers/"] = Rule(Access.Authenticated, Ok),
        ["POST /_blazor/initializers/"] = Rule(Access.Authenticated, Ok),
        ["PUT /_blazor/initializers/"] = Rule(Access.Authenticated, Ok),
        ["PATCH /_blazor/initializers/"] = Rule(Access.Authenticated, Ok),
        ["DELETE /_blazor/initializers/"] = Rule(Access.Authenticated, Ok),
        ["GET /_blazor/negotiate"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["POST /_blazor/negotiate"] = Rule(Access.Authenticated, Ok),
        ["PUT /_blazor/negotiate"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["PATCH /_blazor/negotiate"] = Rule(Access.Authenticated, MethodNotAllowed),
        ["DELETE /_blazor/negotiate"] = Rule(Access.Authenticated, MethodNotAllowed),
        // Blazor's opaque redirection: 400 without the protected url it redirects to.
        ["GET /_framework/opaque-redirect"] = Rule(Access.Authenticated, BadRequest),
        // MapStaticAssets' fallback for files added to wwwroot after the build (present when the app runs from its build
        // output, as here). It is added outside the convention builder, so AllowAnonymous does not reach it and the
        // fallback policy applies (sample: /no-such-file.txt).
        ["GET /{**path:file}"] = Rule(Access.Authenticated, NotFound),
        // Health checks answer every method.
        ["GET /healthz"] = Rule(Access.Anonymous, Ok),
        ["POST /healthz"] = Rule(Access.Anonymous, Ok),
        ["PUT /healthz"] = Rule(Access.Anonymous, Ok),
        ["PATCH /healthz"] = Rule(Access.Anonymous, Ok),
        ["DELETE /healthz"] = Rule(Access.Anonymous, Ok),
        // The API's description (sample: v1), public like the health check; it holds no data.
        ["GET /openapi/{documentName}.json"] = Rule(Access.Anonymous, Ok),

        // The API.
        ["GET /api/me"] = Rule(Access.Authenticated, Ok),
        ["GET /api/sites"] = Rule(Access.Authenticated, Ok),
        ["GET /api/sites/{siteId:int}/members"] = Rule(Access.SiteMember, Ok),
        ["GET /api/sites/{siteId:int}/cohorts"] = Rule(Access.SiteMember, Ok),
        ["POST /api/sites/{siteId:int}/cohorts"] = Rule(Access.SiteCoordinator, Created),
        ["GET /api/tokens/"] = Rule(Access.Authenticated, Ok),
        // {tokenId} is the outsider's token: nobody but its owner may revoke it.
        ["DELETE /api/tokens/{tokenId:int}"] = Rule(Access.Authenticated, NotFound),
        ["GET /api/cohorts/{cohortId:int}"] = Rule(Access.SiteMember, Ok),
        ["PUT /api/cohorts/{cohortId:int}"] = Rule(Access.SiteCoordinator, Ok),
        ["GET /api/cohorts/{cohortId:int}/cases"] = Rule(Access.SiteMember, Ok),
        ["POST /api/cohorts/{cohortId:int}/uploads"] = Rule(Access.SiteCoordinator, Ok),
        ["GET /api/cohorts/{cohortId:int}/imports"] = Rule(Access.SiteCoordinator, Ok),
        ["POST /api/cohorts/{cohortId:int}/upload-sessions/"] = Rule(Access.SiteCoordinator, Created),
        // {sessionId} is a random id: no such session, whoever asks.
        ["GET /api/cohorts/{cohortId:int}/upload-sessions/{sessionId}"] = Rule(Access.SiteCoordinator, NotFound),
        ["DELETE /api/cohorts/{cohortId:int}/upload-sessions/{sessionId}"] = Rule(Access.SiteCoordinator, NotFound),
        ["PUT /api/cohorts/{cohortId:int}/upload-sessions/{sessionId}/files"] = Rule(Access.SiteCoordinator, NotFound),
        ["POST /api/cohorts/{cohortId:int}/upload-sessions/{sessionId}/import"] = Rule(Access.SiteCoordinator, NotFound),
        ["GET /api/cases/{caseId:int}"] = Rule(Access.SiteMember, Ok),
        ["PATCH /api/cases/{caseId:int}"] = Rule(Access.SiteCoordinator, Ok),
        ["DELETE /api/cases/{caseId:int}"] = Rule(Access.SiteCoordinator, NoContent),
        ["GET /api/cases/{caseId:int}/slices/{z:int}.raw"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/slices/{z:int}.png"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/thumbnail.png"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/reference.rle"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/image.nii.gz"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/reference.nii.gz"] = Rule(Access.SiteMember, Ok),
        // The whole cohort as a zip (images, references, manifest): bulk data leaving the portal, so not for annotators.
        ["GET /api/cohorts/{cohortId:int}/export.zip"] = Rule(Access.SiteExporter, Ok),
        // Annotations. The sample assignment names the demo annotator (a member of North, the only site where a coordinator
        // is allowed). The annotator's sample save is not a NIfTI (400). The fixture gives the annotator a draft with a
        // mask on each site's case: the first allowed submit succeeds (200) and later ones find it submitted (409); a
        // review accepts a submitted draft (200) and finds anything else not reviewable (409). The runs' order decides which.
        ["POST /api/cases/{caseId:int}/assignments"] = Rule(Access.SiteCoordinator, Ok),
        ["GET /api/cases/{caseId:int}/assignments"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/annotations"] = Rule(Access.SiteMember, Ok),
        ["PUT /api/cases/{caseId:int}/annotations/mine"] = Rule(Access.SiteAnnotator, BadRequest),
        ["PATCH /api/cases/{caseId:int}/annotations/mine/slices"] = Rule(Access.SiteAnnotator, BadRequest),
        ["GET /api/cases/{caseId:int}/annotations/starting-points"] = Rule(Access.SiteAnnotator, Ok),
        // Whether the matrix case is in a split's test part (no prediction offered to annotators: 404) depends on which
        // split edits of the matrix ran before (200 otherwise); the others always get 403. The offered and the withheld
        // case are each asserted in StartFromPredictionTests.
        ["GET /api/cases/{caseId:int}/annotations/starting-points/{modelId:int}/{mode}.rle"] = Rule(Access.SiteAnnotator, Ok, NotFound),
        // The sample names no model version: an allowed investigator gets 400 and nothing is written.
        ["POST /api/cases/{caseId:int}/annotations/prepared"] = Rule(Access.SiteInvestigator, BadRequest),
        ["POST /api/cases/{caseId:int}/annotations/mine/submit"] = Rule(Access.SiteAnnotator, Ok, Conflict),
        ["POST /api/annotations/{annotationId:int}/review"] = Rule(Access.SiteReviewer, Ok, Conflict),
        ["GET /api/annotations/{annotationId:int}/mask.rle"] = Rule(Access.SiteMember, Ok),
        // The sample annotation is the demo annotator's own, so every member of its site gets it (reviewers see all).
        ["GET /api/annotations/{annotationId:int}/mask.nii.gz"] = Rule(Access.SiteMember, Ok),
        ["GET /api/cases/{caseId:int}/agreement"] = Rule(Access.SiteReviewer, Ok),
        ["GET /api/cohorts/{cohortId:int}/agreement"] = Rule(Access.SiteReviewer, Ok),
        // Splits. The samples without a split id name North's matrix cohort (and case, for an import), where the demo
        // investigator is a member; a split id is each site's matrix split (a draft, so edits succeed), or for DELETE a
        // fresh split over the site's cohort. Copies get "(copy n)" names, so every allowed copy succeeds.
        ["GET /api/splits"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /api/splits"] = Rule(Access.InvestigatorRole, Created),
        ["POST /api/splits/preview"] = Rule(Access.InvestigatorRole, Ok),
        ["POST /api/splits/import"] = Rule(Access.InvestigatorRole, Created),
        ["GET /api/splits/{splitId:int}"] = Rule(Access.SplitInvestigator, Ok),
        ["PUT /api/splits/{splitId:int}"] = Rule(Access.SplitInvestigator, Ok),
        ["DELETE /api/splits/{splitId:int}"] = Rule(Access.SplitInvestigator, NoContent),
        ["POST /api/splits/{splitId:int}/copy"] = Rule(Access.SplitInvestigator, Created),
        ["GET /api/splits/{splitId:int}/splits_final.json"] = Rule(Access.SplitInvestigator, Ok),
        ["POST /api/jobs"] = Rule(Access.InvestigatorRole, Created),
        ["GET /api/jobs"] = Rule(Access.InvestigatorRole, Ok),
        ["GET /api/jobs/{jobId:int}"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/jobs/{jobId:int}/curve"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/jobs/{jobId:int}/log"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/jobs/{jobId:int}/predictions"] = Rule(Access.JobInvestigator, Ok),
        ["POST /api/jobs/{jobId:int}/cancel"] = Rule(Access.JobInvestigator, Ok, Conflict),
        ["GET /api/models"] = Rule(Access.InvestigatorRole, Ok),
        ["GET /api/models/{modelId:int}"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/models/{modelId:int}/checkpoint"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/models/{modelId:int}/predictions"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/models/{modelId:int}/predictions/{caseId:int}/{mode}.nii.gz"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/models/{modelId:int}/predictions/{caseId:int}/{mode}.rle"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/models/{modelId:int}/predictions/{caseId:int}/{mode}/{map}.u8"] = Rule(Access.JobInvestigator, Ok),
        ["GET /api/leaderboards/{splitId:int}"] = Rule(Access.SplitInvestigator, Ok),
        ["GET /api/leaderboards/{splitId:int}.csv"] = Rule(Access.SplitInvestigator, Ok),
        ["GET /api/leaderboards/{splitId:int}/cases"] = Rule(Access.SplitInvestigator, Ok),
        ["GET /api/leaderboards/{splitId:int}/cases.csv"] = Rule(Access.SplitInvestigator, Ok),
        ["GET /api/leaderboards/{splitId:int}/compare"] = Rule(Access.SplitInvestigator, BadRequest),
    };

    private static Expectation Rule(Access access, params int[] allowed) => new(access, allowed);
}
