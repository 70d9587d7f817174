using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Sdpm.Data.Entities;

namespace Sdpm.Data;

/// <summary>The portal's one database: Identity, sites, memberships, API tokens, cohorts and cases, annotations, dataset splits,
/// jobs and models, the audit trail, and the data-protection keys that every portal instance shares.</summary>
public class PortalDbContext(DbContextOptions<PortalDbContext> options) : IdentityDbContext<PortalUser>(options), IDataProtectionKeyContext
{
    /// <summary>The key ring that protects sign-in cookies and antiforgery tokens: in the database, so that any portal
    /// instance reads another's cookies (several instances behind a load balancer).</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<Site> Sites => Set<Site>();
    public DbSet<UserSite> UserSites => Set<UserSite>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
    public DbSet<Cohort> Cohorts => Set<Cohort>();
    public DbSet<Case> Cases => Set<Case>();
    public DbSet<ImportBatch> ImportBatches => Set<ImportBatch>();
    public DbSet<ImportResult> ImportResults => Set<ImportResult>();
    public DbSet<CaseAssignment> CaseAssignments => Set<CaseAssignment>();
    public DbSet<Annotation> Annotations => Set<Annotation>();
    public DbSet<AnnotationRevision> AnnotationRevisions => Set<AnnotationRevision>();
    public DbSet<ReferenceRevision> ReferenceRevisions => Set<ReferenceRevision>();
    public DbSet<DatasetSplit> DatasetSplits => Set<DatasetSplit>();
    public DbSet<DatasetSplitCohort> DatasetSplitCohorts => Set<DatasetSplitCohort>();
    public DbSet<DatasetSplitCase> DatasetSplitCases => Set<DatasetSplitCase>();
    public DbSet<Job> Jobs => Set<Job>();
    public DbSet<JobPoint> JobPoints => Set<JobPoint>();
    public DbSet<ModelVersion> ModelVersions => Set<ModelVersion>();
    public DbSet<WorkerNode> WorkerNodes => Set<WorkerNode>();
    public DbSet<Prediction> Predictions => Set<Prediction>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(PortalDbContext).Assembly);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite cannot compare or order DateTimeOffset columns; a sortable 64-bit form works on every provider.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}
