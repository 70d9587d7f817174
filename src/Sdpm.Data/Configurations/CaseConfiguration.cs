using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class CaseConfiguration : IEntityTypeConfiguration<Case>
{
    public void Configure(EntityTypeBuilder<Case> b)
    {
        b.Property(c => c.PseudoId).HasMaxLength(Case.PseudoIdMaxLength).IsRequired();
        b.Property(c => c.PatientPseudoId).HasMaxLength(Case.PseudoIdMaxLength).IsRequired();
        b.Property(c => c.LesionType).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.ImageBlob).HasMaxLength(64).IsRequired();
        b.Property(c => c.ReferenceBlob).HasMaxLength(64);
        b.Property(c => c.ThumbnailBlob).HasMaxLength(64);
        b.Property(c => c.SourceFormat).HasMaxLength(32);
        b.Property(c => c.SourceName).HasMaxLength(260);
        b.Property(c => c.SourceGrid).HasMaxLength(Case.SourceGridMaxLength);
        b.Property(c => c.CreatedByName).HasMaxLength(256);
        b.Ignore(c => c.HasReference);
        b.HasIndex(c => c.PseudoId).IsUnique();
        // The same scan twice at one site is refused; the index makes a race between two uploads fail too.
        b.HasIndex(c => new { c.SiteId, c.ImageBlob }).IsUnique();
        b.HasIndex(c => new { c.CohortId, c.PseudoId });
        b.HasIndex(c => c.ReferenceBlob);
        b.HasOne(c => c.Cohort).WithMany(c => c.Cases).HasForeignKey(c => c.CohortId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne<Site>().WithMany().HasForeignKey(c => c.SiteId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne(c => c.ImportBatch).WithMany().HasForeignKey(c => c.ImportBatchId).OnDelete(DeleteBehavior.SetNull);
    }
}
