using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sdpm.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class Annotations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Annotations",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    CaseId = table.Column<int>(type: "INTEGER", nullable: false),
                    SiteId = table.Column<int>(type: "INTEGER", nullable: false),
                    AnnotatorId = table.Column<string>(type: "TEXT", nullable: false),
                    AnnotatorName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    MaskBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    VolumeMl = table.Column<double>(type: "REAL", nullable: false),
                    StartedFrom = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    SubmittedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ReviewedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    ReviewedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ReviewComment = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Annotations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Annotations_Cases_CaseId",
                        column: x => x.CaseId,
                        principalTable: "Cases",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "CaseAssignments",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    CaseId = table.Column<int>(type: "INTEGER", nullable: false),
                    AnnotatorId = table.Column<string>(type: "TEXT", nullable: false),
                    AssignedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    AssignedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CaseAssignments", x => x.Id);
                    table.ForeignKey(
                        name: "FK_CaseAssignments_AspNetUsers_AnnotatorId",
                        column: x => x.AnnotatorId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_CaseAssignments_Cases_CaseId",
                        column: x => x.CaseId,
                        principalTable: "Cases",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "ReferenceRevisions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    CaseId = table.Column<int>(type: "INTEGER", nullable: false),
                    MaskBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    VolumeMl = table.Column<double>(type: "REAL", nullable: false),
                    Source = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    AnnotationId = table.Column<int>(type: "INTEGER", nullable: true),
                    AnnotatorName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    DecidedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReferenceRevisions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ReferenceRevisions_Cases_CaseId",
                        column: x => x.CaseId,
                        principalTable: "Cases",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "AnnotationRevisions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AnnotationId = table.Column<int>(type: "INTEGER", nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    MaskBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    VolumeMl = table.Column<double>(type: "REAL", nullable: false),
                    SavedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AnnotationRevisions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_AnnotationRevisions_Annotations_AnnotationId",
                        column: x => x.AnnotationId,
                        principalTable: "Annotations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_AnnotationRevisions_AnnotationId_Version",
                table: "AnnotationRevisions",
                columns: new[] { "AnnotationId", "Version" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_AnnotationRevisions_MaskBlob",
                table: "AnnotationRevisions",
                column: "MaskBlob");

            migrationBuilder.CreateIndex(
                name: "IX_Annotations_CaseId_AnnotatorId",
                table: "Annotations",
                columns: new[] { "CaseId", "AnnotatorId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Annotations_MaskBlob",
                table: "Annotations",
                column: "MaskBlob");

            migrationBuilder.CreateIndex(
                name: "IX_CaseAssignments_AnnotatorId",
                table: "CaseAssignments",
                column: "AnnotatorId");

            migrationBuilder.CreateIndex(
                name: "IX_CaseAssignments_CaseId_AnnotatorId",
                table: "CaseAssignments",
                columns: new[] { "CaseId", "AnnotatorId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ReferenceRevisions_CaseId",
                table: "ReferenceRevisions",
                column: "CaseId");

            migrationBuilder.CreateIndex(
                name: "IX_ReferenceRevisions_MaskBlob",
                table: "ReferenceRevisions",
                column: "MaskBlob");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AnnotationRevisions");

            migrationBuilder.DropTable(
                name: "CaseAssignments");

            migrationBuilder.DropTable(
                name: "ReferenceRevisions");

            migrationBuilder.DropTable(
                name: "Annotations");
        }
    }
}
