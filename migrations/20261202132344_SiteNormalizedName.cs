using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sdpm.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class SiteNormalizedName : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Sites_Name",
                table: "Sites");

            migrationBuilder.AlterColumn<string>(
                name: "Name",
                table: "Sites",
                type: "TEXT",
                maxLength: 80,
                nullable: false,
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldMaxLength: 80,
                oldCollation: "NOCASE");

            migrationBuilder.AddColumn<string>(
                name: "NormalizedName",
                table: "Sites",
                type: "TEXT",
                maxLength: 80,
                nullable: false,
                defaultValue: "");

            // SQLite's upper() folds ASCII only; the portal re-normalizes other names at start-up (DatabaseInitializer).
            migrationBuilder.Sql("UPDATE \"Sites\" SET \"NormalizedName\" = upper(trim(\"Name\"));");

            migrationBuilder.CreateIndex(
                name: "IX_Sites_NormalizedName",
                table: "Sites",
                column: "NormalizedName",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Sites_NormalizedName",
                table: "Sites");

            migrationBuilder.DropColumn(
                name: "NormalizedName",
                table: "Sites");

            migrationBuilder.AlterColumn<string>(
                name: "Name",
                table: "Sites",
                type: "TEXT",
                maxLength: 80,
                nullable: false,
                collation: "NOCASE",
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldMaxLength: 80);

            migrationBuilder.CreateIndex(
                name: "IX_Sites_Name",
                table: "Sites",
                column: "Name",
                unique: true);
        }
    }
}
