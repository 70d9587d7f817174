using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class CohortConfiguration : IEntityTypeConfiguration<Cohort>
{
    public void Configure(EntityTypeBuilder<Cohort> b)
    {
        b.Property(c => c.Name).HasMaxLength(Cohort.NameMaxLength).IsRequired();
        b.Property(c => c.NormalizedName).HasMaxLength(Cohort.NameMaxLength).IsRequired();
        b.Property(c => c.Description).HasMaxLength(Cohort.DescriptionMaxLength);
        b.Property(c => c.CreatedByName).HasMaxLength(256);
        b.Property(c => c.UpdatedByName).HasMaxLength(256);
        b.Property(c => c.LesionType).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.Version).IsConcurrencyToken();
        b.HasIndex(c => new { c.SiteId, c.NormalizedName }).IsUnique();
        b.HasOne(c => c.Site).WithMany().HasForeignKey(c => c.SiteId).OnDelete(DeleteBehavior.Restrict);
    }
}
