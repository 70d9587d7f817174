using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class WorkerNodeConfiguration : IEntityTypeConfiguration<WorkerNode>
{
    public void Configure(EntityTypeBuilder<WorkerNode> b)
    {
        b.Property(x => x.Name).HasMaxLength(WorkerNode.NameMaxLength);
        b.Property(x => x.Host).HasMaxLength(200);
        b.Property(x => x.Devices).HasMaxLength(64);
        b.HasIndex(x => x.Name).IsUnique();
    }
}
