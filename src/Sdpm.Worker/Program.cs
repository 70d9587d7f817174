using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sdpm.Data;
using Sdpm.Jobs;
using Sdpm.Storage;
using Sdpm.Worker;

// sdpm-worker node   takes engine jobs from the portal's database (the repository's appsettings.json, environment
//                    variables as for the portal: Portal__DataFolder, Database__Provider, ConnectionStrings__Portal,
//                    Storage__BlobFolder, Jobs__Devices=cpu,cuda)
// sdpm-worker run    the engine process of one job (started by a node)
return args.FirstOrDefault() switch
{
    "run" => RunCommand.Run(args[1..]),
    "node" => await NodeAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Sdpm.Worker node   (a worker that takes engine jobs from the portal's database)\n       Sdpm.Worker run --job N --run-dir DIR   (the engine process of one job; a node starts it)");
    return 2;
}

static async Task<int> NodeAsync(string[] args)
{
    var contentRoot = RepositoryRoot();
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = contentRoot });
    var host = JobHostConfiguration.From(builder.Configuration, contentRoot);
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddPooledDbContextFactory<PortalDbContext>(o => PortalDatabase.Use(o, host.Database));
    builder.Services.AddSingleton<IBlobStore>(sp => new FileSystemBlobStore(host.BlobFolder, sp.GetRequiredService<TimeProvider>()));
    builder.Services.AddEngineJobs(builder.Configuration, host);
    using var app = builder.Build();
    var contexts = app.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
    await using (var db = await contexts.CreateDbContextAsync())
    {
        // The portal creates and migrates the database; a worker only needs its job tables to be there.
        try
        {
            await db.Jobs.AnyAsync();
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
        {
            Console.Error.WriteLine($"The portal's database ({host.Database}) cannot be read or has no job tables ({e.Message}): " +
                                    "check ConnectionStrings__Portal and Database__Provider, and start the portal once (./run.sh) before its workers.");
            return 1;
        }
    }
    var identity = app.Services.GetRequiredService<WorkerIdentity>();
    Console.Error.WriteLine($"worker {identity.Name}: devices {string.Join(", ", identity.Devices)}; data {host.DataFolder}");
    await app.RunAsync();
    return 0;
}

/// <summary>The folder with Sdpm.Portal.sln above this program (its configuration is the portal's appsettings.json),
/// else the current directory.</summary>
static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Sdpm.Portal.sln"))) return dir.FullName;
    }
    return Environment.CurrentDirectory;
}
