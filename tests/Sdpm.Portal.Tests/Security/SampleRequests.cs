using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Sdpm.Portal.Tests.Security;

/// <summary>
/// The request the matrix sends to one method of one route with one site's resources: every route parameter
/// substituted, and a body where the endpoint reads one. Requests that change state are made repeatable: a cohort gets
/// a unique name, an edit carries the version as it is now, a deleted case is a fresh one made for that request.
/// </summary>
public static partial class SampleRequests
{
    /// <summary>Route parameters that name a site's resource: a route with one is tried with each site's.</summary>
    public static bool IsSiteScoped(string route) => SiteParameter().IsMatch(route);

    public static async Task<HttpRequestMessage> BuildAsync(MatrixPortal portal, PortalEndpoint endpoint, MatrixSite? site)
    {
        var caseId = site?.CaseId;
        if (endpoint.Key == "DELETE /api/cases/{caseId:int}" && site is not null)
        {
            caseId = await portal.NewCaseAsync(site);
        }
        var splitId = site?.SplitId;
        if (endpoint.Key == "DELETE /api/splits/{splitId:int}" && site is not null)
        {
            splitId = await portal.NewSplitAsync(site);
        }
        var north = (await portal.SitesAsync())["North"];
        var url = Parameter().Replace(endpoint.Route, m => m.Groups["name"].Value.ToLowerInvariant() switch
        {
            "siteid" => Need(site).SiteId.ToString(),
            "cohortid" => Need(site).CohortId.ToString(),
            "caseid" => caseId!.Value.ToString(),
            "annotationid" => Need(site).AnnotationId.ToString(),
            "splitid" => splitId!.Value.ToString(),
            "jobid" => Need(site).JobId.ToString(),
            "modelid" => Need(site).ModelId.ToString(),
            "z" => "0",
            "mode" => "avg",
            "map" => "uncertainty",
            "sessionid" => Guid.NewGuid().ToString("N"),
            "tokenid" => portal.OutsiderTokenId.ToString(),
            "documentname" => "v1",
            "path" => "no-such-file.txt",
            var other => throw new InvalidOperationException($"{endpoint.Key}: the route parameter {other} needs a sample value in SampleRequests"),
        });
        var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), url + QueryOf(endpoint, north));
        request.Content = endpoint.Key switch
        {
            "POST /api/sites/{siteId:int}/cohorts" =>
                JsonContent.Create(new { name = $"Matrix {Guid.NewGuid():N}", lesionType = "infarct", description = "made by the authorization matrix" }),
            "PUT /api/cohorts/{cohortId:int}" =>
                JsonContent.Create(new { name = Need(site).CohortName, lesionType = "mixed", description = "edited by the authorization matrix", version = await portal.CohortVersionAsync(Need(site).CohortId) }),
            "PATCH /api/cases/{caseId:int}" => JsonContent.Create(new { lesionType = "infarct" }),
            "POST /api/cases/{caseId:int}/assignments" => JsonContent.Create(new { annotator = "annotator" }),
            "POST /api/cases/{caseId:int}/annotations/prepared" => JsonContent.Create(new { annotator = "annotator", mode = "avg" }),
            "PUT /api/cases/{caseId:int}/annotations/mine" => new ByteArrayContent("not a mask"u8.ToArray()),
            "POST /api/annotations/{annotationId:int}/review" => JsonContent.Create(new { decision = "accept" }),
            "POST /api/cohorts/{cohortId:int}/uploads" => new ByteArrayContent("not a scan"u8.ToArray()),
            "POST /api/splits" or "POST /api/splits/preview" => JsonContent.Create(SplitBody($"Matrix {Guid.NewGuid():N}", north.CohortId, null)),
            "PUT /api/splits/{splitId:int}" =>
                JsonContent.Create(SplitBody(Need(site).SplitName, Need(site).CohortId, await portal.SplitVersionAsync(Need(site).SplitId))),
            "POST /api/splits/import" => JsonContent.Create(new[] { new { train = new[] { north.CasePseudoId }, val = Array.Empty<string>() } }),
            "POST /api/jobs" => JsonContent.Create(new { kind = "train", splitId = north.JobSplitId, model = "sdpm", preset = "tiny", steps = 2, seed = 1, device = "cpu" }),
            // A form post without its antiforgery token.
            _ when endpoint.Method == "POST" && !endpoint.IsApi => new FormUrlEncodedContent([]),
            _ => null,
        };
        return request;
    }

    private static string QueryOf(PortalEndpoint endpoint, MatrixSite north) => endpoint.Key switch
    {
        "POST /api/cohorts/{cohortId:int}/uploads" => "?fileName=matrix.txt",
        "POST /api/splits/import" => $"?cohortIds={north.CohortId}&name=Matrix%20import%20{Guid.NewGuid():N}",
        _ => "",
    };

    private static object SplitBody(string name, int cohortId, int? version) =>
        new { name, cohortIds = new[] { cohortId }, fractions = new { train = 0.5, validation = 0.25, test = 0.25 }, seed = 1, version };

    private static MatrixSite Need(MatrixSite? site) => site ?? throw new InvalidOperationException("A site-scoped route needs a site.");

    [GeneratedRegex(@"\{(\*\*)?(?<name>\w+)(:[^}]*)?\}")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"\{(siteId|cohortId|caseId|annotationId|splitId|jobId|modelId)(:[^}]*)?\}", RegexOptions.IgnoreCase)]
    private static partial Regex SiteParameter();
}
