using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sdpm.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class DatasetSplits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "DatasetSplits",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", maxLength: 120, nullable: false),
                    NormalizedName = table.Column<string>(type: "TEXT", maxLength: 120, nullable: false),
                    Origin = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Seed = table.Column<long>(type: "INTEGER", nullable: false),
                    TrainFraction = table.Column<double>(type: "REAL", nullable: false),
                    ValidationFraction = table.Column<double>(type: "REAL", nullable: false),
                    TestFraction = table.Column<double>(type: "REAL", nullable: false),
                    ExcludedWithoutReference = table.Column<int>(type: "INTEGER", nullable: false),
                    CreatedById = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    FrozenAt = table.Column<long>(type: "INTEGER", nullable: true),
                    FrozenReason = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    CopiedFromId = table.Column<int>(type: "INTEGER", nullable: true),
                    Version = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DatasetSplits", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DatasetSplits_DatasetSplits_CopiedFromId",
                        column: x => x.CopiedFromId,
                        principalTable: "DatasetSplits",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "DatasetSplitCases",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    SplitId = table.Column<int>(type: "INTEGER", nullable: false),
                    CaseId = table.Column<int>(type: "INTEGER", nullable: true),
                    Subset = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    PseudoId = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    PatientPseudoId = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    SiteId = table.Column<int>(type: "INTEGER", nullable: false),
                    LesionType = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DatasetSplitCases", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DatasetSplitCases_Cases_CaseId",
                        column: x => x.CaseId,
                        principalTable: "Cases",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_DatasetSplitCases_DatasetSplits_SplitId",
                        column: x => x.SplitId,
                        principalTable: "DatasetSplits",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "DatasetSplitCohorts",
                columns: table => new
                {
                    SplitId = table.Column<int>(type: "INTEGER", nullable: false),
                    CohortId = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DatasetSplitCohorts", x => new { x.SplitId, x.CohortId });
                    table.ForeignKey(
                        name: "FK_DatasetSplitCohorts_Cohorts_CohortId",
                        column: x => x.CohortId,
                        principalTable: "Cohorts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_DatasetSplitCohorts_DatasetSplits_SplitId",
                        column: x => x.SplitId,
                        principalTable: "DatasetSplits",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_DatasetSplitCases_CaseId",
                table: "DatasetSplitCases",
                column: "CaseId");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetSplitCases_SplitId_CaseId",
                table: "DatasetSplitCases",
                columns: new[] { "SplitId", "CaseId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_DatasetSplitCohorts_CohortId",
                table: "DatasetSplitCohorts",
                column: "CohortId");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetSplits_CopiedFromId",
                table: "DatasetSplits",
                column: "CopiedFromId");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetSplits_CreatedById_NormalizedName",
                table: "DatasetSplits",
                columns: new[] { "CreatedById", "NormalizedName" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "DatasetSplitCases");

            migrationBuilder.DropTable(
                name: "DatasetSplitCohorts");

            migrationBuilder.DropTable(
                name: "DatasetSplits");
        }
    }
}
