using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sdpm.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class Predictions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ResultJson",
                table: "Jobs",
                type: "TEXT",
                maxLength: 64000,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Predictions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<int>(type: "INTEGER", nullable: false),
                    ModelVersionId = table.Column<int>(type: "INTEGER", nullable: false),
                    CaseId = table.Column<int>(type: "INTEGER", nullable: false),
                    Mode = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Protocol = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    MaskBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ProbabilityBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    UncertaintyBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    VolumeMl = table.Column<double>(type: "REAL", nullable: false),
                    VolumeSdMl = table.Column<double>(type: "REAL", nullable: false),
                    Passes = table.Column<long>(type: "INTEGER", nullable: false),
                    Seconds = table.Column<double>(type: "REAL", nullable: false),
                    MetricsReferenceBlob = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    Dice = table.Column<double>(type: "REAL", nullable: true),
                    VolumeRefMl = table.Column<double>(type: "REAL", nullable: true),
                    Committed = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Predictions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Predictions_Cases_CaseId",
                        column: x => x.CaseId,
                        principalTable: "Cases",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Predictions_Jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "Jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Predictions_ModelVersions_ModelVersionId",
                        column: x => x.ModelVersionId,
                        principalTable: "ModelVersions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Predictions_CaseId",
                table: "Predictions",
                column: "CaseId");

            migrationBuilder.CreateIndex(
                name: "IX_Predictions_JobId_CaseId_Mode",
                table: "Predictions",
                columns: new[] { "JobId", "CaseId", "Mode" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Predictions_ModelVersionId_CaseId_Mode_Committed",
                table: "Predictions",
                columns: new[] { "ModelVersionId", "CaseId", "Mode", "Committed" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Predictions");

            migrationBuilder.DropColumn(
                name: "ResultJson",
                table: "Jobs");
        }
    }
}
