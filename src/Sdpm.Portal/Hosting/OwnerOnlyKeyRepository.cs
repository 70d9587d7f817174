using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using Sdpm.Storage;

namespace Sdpm.Portal.Hosting;

/// <summary>
/// The data-protection keys (they sign and encrypt the sign-in cookie and the antiforgery tokens) stay readable by the
/// portal's account only: the keys folder is created 0700 before the first key is written, and every key file is made
/// 0600 after each write and whenever the keys are read (which tightens the files of an older version at start-up).
/// Wraps the file-system repository that <c>PersistKeysToFileSystem</c> configured; other repositories are left alone.
/// </summary>
internal sealed class OwnerOnlyKeyRepository(FileSystemXmlRepository inner) : IDeletableXmlRepository
{
    public DirectoryInfo Directory => inner.Directory;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        Tighten();
        return inner.GetAllElements();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        OwnerOnly.CreateDirectory(inner.Directory.FullName);
        inner.StoreElement(element, friendlyName);
        Tighten();
    }

    public bool DeleteElements(Action<IReadOnlyCollection<IDeletableElement>> chooseElements) => inner.DeleteElements(chooseElements);

    private void Tighten()
    {
        var folder = inner.Directory.FullName;
        if (!System.IO.Directory.Exists(folder))
        {
            return;
        }
        OwnerOnly.CreateDirectory(folder);
        foreach (var file in System.IO.Directory.EnumerateFiles(folder))
        {
            OwnerOnly.Restrict(file);
        }
    }

    /// <summary>Puts the wrapper around the configured file-system repository, after every other configuration ran.</summary>
    internal sealed class Setup : IPostConfigureOptions<KeyManagementOptions>
    {
        public void PostConfigure(string? name, KeyManagementOptions options)
        {
            if (options.XmlRepository is FileSystemXmlRepository files)
            {
                options.XmlRepository = new OwnerOnlyKeyRepository(files);
            }
        }
    }
}
