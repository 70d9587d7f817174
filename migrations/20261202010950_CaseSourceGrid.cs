using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sdpm.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class CaseSourceGrid : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "SourceGrid",
                table: "Cases",
                type: "TEXT",
                maxLength: 1024,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "SourceGrid",
                table: "Cases");
        }
    }
}
