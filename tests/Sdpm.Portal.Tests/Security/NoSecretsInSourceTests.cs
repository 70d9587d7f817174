using System.Text.Json;
using System.Text.RegularExpressions;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>Secrets come from configuration or the environment, never from what ships: no password in a connection
/// string, no API token, no private key in the sources, the migrations, run.sh or the appsettings files, and no
/// configuration value that holds one (docs/decisions/011).</summary>
public partial class NoSecretsInSourceTests
{
    private static readonly string Root = PortalFactory.RepositoryRoot;

    public static IEnumerable<string> ShippedFiles()
    {
        var extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".cs", ".razor", ".js", ".json", ".sh", ".props", ".targets", ".csproj", ".py" };
        foreach (var folder in new[] { "src", "migrations", "wwwroot", "scripts" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Root, folder), "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(Root, file).Replace('\\', '/');
                if (relative.Contains("/bin/") || relative.Contains("/obj/") || !extensions.Contains(Path.GetExtension(file))) continue;
                yield return relative;
            }
        }
        foreach (var file in Directory.EnumerateFiles(Root, "appsettings*.json").Append(Path.Combine(Root, "run.sh")))
        {
            yield return Path.GetRelativePath(Root, file);
        }
    }

    [Fact]
    public void NoShippedFileHoldsAPasswordATokenOrAPrivateKey()
    {
        var files = ShippedFiles().ToList();
        Assert.Contains("src/Sdpm.Portal/Program.cs", files);
        Assert.Contains("appsettings.json", files);

        var findings = new List<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(Path.Combine(Root, file));
            foreach (Match m in ConnectionStringPassword().Matches(text))
            {
                var value = m.Groups[1].Value;
                // Placeholders in messages and documentation: "Password=...", "Password=<secret>", "Password=$PGPASSWORD".
                if (value.Length < 4 || value.Contains("..") || value.IndexOfAny(['<', '$', '{', '*']) >= 0) continue;
                findings.Add($"{file}: a connection string with a password ({m.Value[..Math.Min(m.Value.Length, 12)]}…)");
            }
            if (PortalToken().IsMatch(text)) findings.Add($"{file}: an API token (sdpm_…)");
            if (PrivateKey().IsMatch(text)) findings.Add($"{file}: a private key");
        }
        Assert.Empty(findings);
    }

    [Fact]
    public void TheAppsettingsFilesHoldNoSecretValue()
    {
        var findings = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Root, "appsettings*.json"))
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            Walk(json.RootElement, Path.GetFileName(file), findings);
        }
        Assert.Empty(findings);
    }

    private static void Walk(JsonElement element, string path, List<string> findings)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                var here = $"{path}:{property.Name}";
                if (SecretName().IsMatch(property.Name) && property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 })
                {
                    findings.Add($"{here} has a value: set it through the environment instead");
                }
                if (property.Value.ValueKind == JsonValueKind.String && ConnectionStringPassword().IsMatch(property.Value.GetString()!))
                {
                    findings.Add($"{here} holds a password");
                }
                Walk(property.Value, here, findings);
            }
        }
    }

    [GeneratedRegex(@"(?i)\b(?:password|pwd)=([^;""'\s]*)")]
    private static partial Regex ConnectionStringPassword();

    [GeneratedRegex(@"sdpm_[A-Za-z0-9_-]{40,}")]
    private static partial Regex PortalToken();

    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----")]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(?i)(password|secret|apikey|api_key|privatekey|clientsecret)$")]
    private static partial Regex SecretName();
}
