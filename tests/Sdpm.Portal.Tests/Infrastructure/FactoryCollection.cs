namespace Sdpm.Portal.Tests.Infrastructure;

/// <summary>One seeded portal shared by the read-mostly HTTP tests of a class.</summary>
public sealed class SharedPortal : PortalFactory;
