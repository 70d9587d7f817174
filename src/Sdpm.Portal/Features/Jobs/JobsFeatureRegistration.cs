using Sdpm.Jobs;

namespace Sdpm.Portal.Features.Jobs;

public static class JobsFeatureRegistration
{
    /// <summary>Engine jobs: the job engine in the portal's database, a worker in this process unless Jobs:RunWorker is
    /// false (the engine itself always runs in a process of its own), and the investigators' job and model services.</summary>
    public static WebApplicationBuilder AddJobs(this WebApplicationBuilder builder)
    {
        var host = JobHostConfiguration.From(builder.Configuration, builder.Environment.ContentRootPath);
        builder.Services.AddEngineJobs(builder.Configuration, host);
        builder.Services.AddSingleton<JobService>();
        return builder;
    }
}
