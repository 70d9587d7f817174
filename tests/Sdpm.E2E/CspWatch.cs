using Microsoft.Playwright;

namespace Sdpm.E2E;

/// <summary>
/// Collects every Content-Security-Policy violation of a browser context, across navigations: the document's
/// "securitypolicyviolation" events (reported through an exposed function) and Chromium's console messages about the policy.
/// </summary>
public sealed class CspWatch
{
    private readonly List<string> violations = [];

    public IReadOnlyList<string> Violations
    {
        get { lock (violations) { return violations.ToList(); } }
    }

    /// <summary>Starts watching every page of the context from its next navigation on (call it before the first one).</summary>
    public static async Task<CspWatch> AttachAsync(IBrowserContext context)
    {
        var watch = new CspWatch();
        await context.ExposeFunctionAsync<string>("__sdpmCspViolation", watch.Add);
        await context.AddInitScriptAsync("""
            document.addEventListener('securitypolicyviolation', e => {
              window.__sdpmCspViolation(`${location.pathname}: ${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} ` +
                `at ${e.sourceFile || '?'}:${e.lineNumber} ${e.sample || ''}`);
            });
            """);
        context.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)
                || message.Text.Contains("Content-Security-Policy", StringComparison.OrdinalIgnoreCase)
                || message.Text.Contains("Permissions-Policy", StringComparison.OrdinalIgnoreCase))
            {
                watch.Add($"console {message.Type}: {message.Text}");
            }
        };
        return watch;
    }

    private void Add(string violation)
    {
        lock (violations)
        {
            violations.Add(violation);
        }
    }
}
