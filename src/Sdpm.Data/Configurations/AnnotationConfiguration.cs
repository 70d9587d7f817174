using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Configurations;

internal sealed class CaseAssignmentConfiguration : IEntityTypeConfiguration<CaseAssignment>
{
    public void Configure(EntityTypeBuilder<CaseAssignment> b)
    {
        b.Property(a => a.AssignedByName).HasMaxLength(256);
        b.HasIndex(a => new { a.CaseId, a.AnnotatorId }).IsUnique();
        b.HasIndex(a => a.AnnotatorId);
        b.HasOne(a => a.Case).WithMany().HasForeignKey(a => a.CaseId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne(a => a.Annotator).WithMany().HasForeignKey(a => a.AnnotatorId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class AnnotationConfiguration : IEntityTypeConfiguration<Annotation>
{
    public void Configure(EntityTypeBuilder<Annotation> b)
    {
        b.Property(a => a.AnnotatorName).HasMaxLength(256);
        b.Property(a => a.State).HasConversion<string>().HasMaxLength(16);
        b.Property(a => a.MaskBlob).HasMaxLength(64);
        b.Property(a => a.StartedFrom).HasMaxLength(Annotation.StartedFromMaxLength);
        b.Property(a => a.ReviewedByName).HasMaxLength(256);
        b.Property(a => a.ReviewComment).HasMaxLength(Annotation.CommentMaxLength);
        b.Property(a => a.Version).IsConcurrencyToken();
        b.HasIndex(a => new { a.CaseId, a.AnnotatorId }).IsUnique();
        b.HasIndex(a => a.MaskBlob);
        b.HasOne(a => a.Case).WithMany().HasForeignKey(a => a.CaseId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class AnnotationRevisionConfiguration : IEntityTypeConfiguration<AnnotationRevision>
{
    public void Configure(EntityTypeBuilder<AnnotationRevision> b)
    {
        b.Property(r => r.MaskBlob).HasMaxLength(64).IsRequired();
        b.HasIndex(r => new { r.AnnotationId, r.Version }).IsUnique();
        b.HasIndex(r => r.MaskBlob);
        b.HasOne(r => r.Annotation).WithMany(a => a.Revisions).HasForeignKey(r => r.AnnotationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ReferenceRevisionConfiguration : IEntityTypeConfiguration<ReferenceRevision>
{
    public void Configure(EntityTypeBuilder<ReferenceRevision> b)
    {
        b.Property(r => r.MaskBlob).HasMaxLength(64).IsRequired();
        b.Property(r => r.Source).HasMaxLength(32);
        b.Property(r => r.AnnotatorName).HasMaxLength(256);
        b.Property(r => r.DecidedByName).HasMaxLength(256);
        b.HasIndex(r => r.CaseId);
        b.HasIndex(r => r.MaskBlob);
        b.HasOne(r => r.Case).WithMany().HasForeignKey(r => r.CaseId).OnDelete(DeleteBehavior.Cascade);
    }
}
