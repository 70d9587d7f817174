using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class DatasetSplitConfiguration : IEntityTypeConfiguration<DatasetSplit>
{
    public void Configure(EntityTypeBuilder<DatasetSplit> b)
    {
        b.Property(s => s.Name).HasMaxLength(DatasetSplit.NameMaxLength).IsRequired();
        b.Property(s => s.NormalizedName).HasMaxLength(DatasetSplit.NameMaxLength).IsRequired();
        b.Property(s => s.Origin).HasConversion<string>().HasMaxLength(16);
        b.Property(s => s.CreatedByName).HasMaxLength(256);
        b.Property(s => s.UpdatedByName).HasMaxLength(256);
        b.Property(s => s.FrozenReason).HasMaxLength(DatasetSplit.FrozenReasonMaxLength);
        b.Property(s => s.Version).IsConcurrencyToken();
        b.HasIndex(s => new { s.CreatedById, s.NormalizedName }).IsUnique();
        b.HasOne(s => s.CopiedFrom).WithMany().HasForeignKey(s => s.CopiedFromId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class DatasetSplitCohortConfiguration : IEntityTypeConfiguration<DatasetSplitCohort>
{
    public void Configure(EntityTypeBuilder<DatasetSplitCohort> b)
    {
        b.HasKey(x => new { x.SplitId, x.CohortId });
        b.HasIndex(x => x.CohortId);
        b.HasOne(x => x.Split).WithMany(s => s.Cohorts).HasForeignKey(x => x.SplitId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne(x => x.Cohort).WithMany().HasForeignKey(x => x.CohortId).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class DatasetSplitCaseConfiguration : IEntityTypeConfiguration<DatasetSplitCase>
{
    public void Configure(EntityTypeBuilder<DatasetSplitCase> b)
    {
        b.Property(x => x.Subset).HasConversion<string>().HasMaxLength(16);
        b.Property(x => x.LesionType).HasConversion<string>().HasMaxLength(16);
        b.Property(x => x.PseudoId).HasMaxLength(Case.PseudoIdMaxLength).IsRequired();
        b.Property(x => x.PatientPseudoId).HasMaxLength(Case.PseudoIdMaxLength).IsRequired();
        b.HasIndex(x => new { x.SplitId, x.CaseId }).IsUnique();
        b.HasIndex(x => x.CaseId);
        b.HasOne(x => x.Split).WithMany(s => s.Cases).HasForeignKey(x => x.SplitId).OnDelete(DeleteBehavior.Cascade);
        // A case deleted later (consent withdrawn) leaves its snapshot in the split; the split itself never changes.
        b.HasOne(x => x.Case).WithMany().HasForeignKey(x => x.CaseId).OnDelete(DeleteBehavior.SetNull);
    }
}
