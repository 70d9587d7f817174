using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class ModelVersionConfiguration : IEntityTypeConfiguration<ModelVersion>
{
    public void Configure(EntityTypeBuilder<ModelVersion> b)
    {
        b.Property(x => x.Name).HasMaxLength(ModelVersion.NameMaxLength);
        b.Property(x => x.Model).HasMaxLength(32);
        b.Property(x => x.Preset).HasMaxLength(32);
        b.Property(x => x.Recipe).HasMaxLength(32);
        b.Property(x => x.OptionsJson).HasMaxLength(16000);
        b.Property(x => x.CheckpointBlob).HasMaxLength(64);
        b.Property(x => x.SiteKey).HasMaxLength(400);
        b.Property(x => x.CreatedByName).HasMaxLength(256);
        b.HasIndex(x => x.JobId).IsUnique();
        b.HasIndex(x => x.CreatedAt);
    }
}
