using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> b)
    {
        b.Property(x => x.Kind).HasConversion<string>().HasMaxLength(16);
        b.Property(x => x.State).HasConversion<string>().HasMaxLength(16);
        b.Property(x => x.Device).HasMaxLength(16);
        b.Property(x => x.RequestJson).HasMaxLength(16000);
        b.Property(x => x.SiteKey).HasMaxLength(400);
        b.Property(x => x.Message).HasMaxLength(1000);
        b.Property(x => x.Error).HasMaxLength(Job.ErrorMaxLength);
        b.Property(x => x.LogTail).HasMaxLength(Job.LogTailMaxLength);
        b.Property(x => x.WorkerName).HasMaxLength(WorkerNode.NameMaxLength);
        b.Property(x => x.WaitingReason).HasMaxLength(1000);
        b.Property(x => x.DispatchId).HasMaxLength(64);
        b.Property(x => x.ResultJson).HasMaxLength(64000);
        b.Property(x => x.CreatedByName).HasMaxLength(256);
        b.HasIndex(x => new { x.State, x.Device, x.Id });
        b.HasIndex(x => x.CreatedAt);
    }
}

internal sealed class JobPointConfiguration : IEntityTypeConfiguration<JobPoint>
{
    public void Configure(EntityTypeBuilder<JobPoint> b)
    {
        b.Property(x => x.TermsJson).HasMaxLength(2000);
        b.HasIndex(x => new { x.JobId, x.Step });
        b.HasOne(x => x.Job).WithMany(x => x.Points).HasForeignKey(x => x.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}
