using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sdpm.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class AnnotationStartedFromLength : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
