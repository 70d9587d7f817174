using Sdpm.Portal.Hosting;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = ContentRoot.Resolve(args),
});

builder.AddPortalData();
builder.AddPortalIdentity();
builder.AddPortalFeatures();
builder.AddPortalUi();
builder.AddPortalSecurity();

var app = builder.Build();

app.UsePortalPipeline();
app.MapPortalEndpoints();

app.Run();

/// <summary>Entry point type, public so that test hosts can start the portal.</summary>
public partial class Program;
