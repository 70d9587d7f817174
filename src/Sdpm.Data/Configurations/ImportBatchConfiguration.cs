using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class ImportBatchConfiguration : IEntityTypeConfiguration<ImportBatch>
{
    public void Configure(EntityTypeBuilder<ImportBatch> b)
    {
        b.Property(x => x.UserName).HasMaxLength(256);
        b.Property(x => x.UploadName).HasMaxLength(260);
        b.HasIndex(x => new { x.CohortId, x.StartedAt });
        b.HasOne(x => x.Cohort).WithMany().HasForeignKey(x => x.CohortId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ImportResultConfiguration : IEntityTypeConfiguration<ImportResult>
{
    public void Configure(EntityTypeBuilder<ImportResult> b)
    {
        b.Property(x => x.Name).HasMaxLength(260);
        b.Property(x => x.Status).HasConversion<string>().HasMaxLength(16);
        b.Property(x => x.Reason).HasMaxLength(2000);
        b.Property(x => x.FindingsJson).HasMaxLength(8000);
        b.HasIndex(x => new { x.BatchId, x.Ordinal });
        b.HasOne(x => x.Batch).WithMany(x => x.Results).HasForeignKey(x => x.BatchId).OnDelete(DeleteBehavior.Cascade);
    }
}
