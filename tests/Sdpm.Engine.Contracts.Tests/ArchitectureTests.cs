using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Xml.Linq;

namespace Sdpm.Engine.Contracts.Tests;

/// <summary>The process boundary (docs/decisions/006): the web process never loads libtorch, so neither the contracts nor the
/// portal may reach TorchSharp or the torch part of the engine, whether through a project, a package or an assembly.</summary>
public class ArchitectureTests
{
    private static readonly string[] Forbidden = ["TorchSharp", "libtorch", "Sdpm.Engine"];

    private static bool IsForbidden(string name) =>
        !name.StartsWith("Sdpm.Engine.Contracts", StringComparison.OrdinalIgnoreCase) && Forbidden.Any(f => name.Equals(f, StringComparison.OrdinalIgnoreCase) || name.StartsWith(f + "-", StringComparison.OrdinalIgnoreCase) || name.StartsWith(f + ".", StringComparison.OrdinalIgnoreCase));

    [Theory]
    [InlineData("src/Sdpm.Engine.Contracts/Sdpm.Engine.Contracts.csproj")]
    [InlineData("src/Sdpm.Portal/Sdpm.Portal.csproj")]
    public void NoProjectOrPackageInTheGraphIsTorch(string project)
    {
        var (projects, packages) = Graph(Path.Combine(RepositoryRoot(), project));
        Assert.Contains(Path.GetFileNameWithoutExtension(project), projects);
        Assert.DoesNotContain(projects, IsForbidden);
        Assert.DoesNotContain(packages, IsForbidden);
    }

    [Theory]
    [InlineData("Sdpm.Engine.Contracts", "Sdpm.Imaging")]
    [InlineData("Sdpm.Portal", "Sdpm.Data")]
    public void NoAssemblyTheBuiltAssemblyReachesIsTorch(string assembly, string reachedForSure)
    {
        var reached = ReferencedAssemblies(assembly);
        Assert.Contains(reachedForSure, reached); // the walk read the assembly and followed its references
        Assert.DoesNotContain(reached, IsForbidden);
    }

    [Fact]
    public void NoPackageInThisOutputIsTorch()
    {
        // This test project references the contracts and the portal only, so its dependency manifest lists every package
        // either of them brings in, including those no code calls (and so no assembly reference shows).
        var deps = Path.Combine(AppContext.BaseDirectory, "Sdpm.Engine.Contracts.Tests.deps.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(deps));
        var libraries = doc.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
        Assert.Contains("Sdpm.Portal", libraries);
        Assert.Contains("Sdpm.Engine.Contracts", libraries);
        Assert.DoesNotContain(libraries, IsForbidden);
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")));
    }

    /// <summary>Every assembly reachable from one in this test's output through assembly references (framework ones end
    /// the walk: they are not in the output).</summary>
    private static HashSet<string> ReferencedAssemblies(string start)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { start };
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var name))
        {
            var file = Path.Combine(AppContext.BaseDirectory, name + ".dll");
            if (!File.Exists(file)) continue;
            using var pe = new PEReader(File.OpenRead(file));
            var md = pe.GetMetadataReader();
            foreach (var handle in md.AssemblyReferences)
            {
                var reference = md.GetString(md.GetAssemblyReference(handle).Name);
                if (seen.Add(reference)) queue.Enqueue(reference);
            }
        }
        seen.Remove(start);
        return seen;
    }

    /// <summary>The project names and package ids a project reaches through ProjectReference and PackageReference.</summary>
    private static (HashSet<string> Projects, HashSet<string> Packages) Graph(string csproj)
    {
        var projects = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var packages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<string>([Path.GetFullPath(csproj)]);
        while (queue.TryDequeue(out var path))
        {
            if (!projects.Add(Path.GetFileNameWithoutExtension(path))) continue;
            var xml = XDocument.Load(path);
            foreach (var e in xml.Descendants().Where(e => e.Name.LocalName == "PackageReference"))
                packages.Add((string?)e.Attribute("Include") ?? "");
            foreach (var e in xml.Descendants().Where(e => e.Name.LocalName == "ProjectReference"))
                queue.Enqueue(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, ((string)e.Attribute("Include")!).Replace('\\', '/'))));
        }
        foreach (var props in new[] { "Directory.Build.props", "Directory.Build.targets" })
        {
            var file = Path.Combine(RepositoryRoot(), props);
            if (!File.Exists(file)) continue;
            foreach (var e in XDocument.Load(file).Descendants().Where(e => e.Name.LocalName == "PackageReference"))
                packages.Add((string?)e.Attribute("Include") ?? "");
        }
        return (projects, packages);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sdpm.Portal.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Sdpm.Portal.sln above {AppContext.BaseDirectory}.");
    }
}
