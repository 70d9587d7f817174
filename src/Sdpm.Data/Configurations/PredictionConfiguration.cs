using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class PredictionConfiguration : IEntityTypeConfiguration<Prediction>
{
    public void Configure(EntityTypeBuilder<Prediction> b)
    {
        b.Property(x => x.Mode).HasMaxLength(Prediction.ModeMaxLength);
        b.Property(x => x.Protocol).HasMaxLength(16);
        b.Property(x => x.MaskBlob).HasMaxLength(64);
        b.Property(x => x.ProbabilityBlob).HasMaxLength(64);
        b.Property(x => x.UncertaintyBlob).HasMaxLength(64);
        b.Property(x => x.MetricsReferenceBlob).HasMaxLength(64);
        // A job writes each case and mode once (a resumed job skips what it wrote).
        b.HasIndex(x => new { x.JobId, x.CaseId, x.Mode }).IsUnique();
        b.HasIndex(x => new { x.ModelVersionId, x.CaseId, x.Mode, x.Committed });
        b.HasOne<Job>().WithMany().HasForeignKey(x => x.JobId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<ModelVersion>().WithMany().HasForeignKey(x => x.ModelVersionId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Case>().WithMany().HasForeignKey(x => x.CaseId).OnDelete(DeleteBehavior.Cascade);
    }
}
