using Hangfire.Logging;
using Microsoft.Extensions.Logging;
using HangfireLevel = Hangfire.Logging.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Sdpm.Jobs;

/// <summary>
/// Hangfire's log provider is process-wide (a static), while its logs belong to a host. Hangfire.NetCore sets it to the
/// logger factory of whichever host configured Hangfire last, so once that host is disposed, every other host of the
/// process fails where Hangfire makes a logger (ObjectDisposedException, a job fetched and never started). One process
/// has one host in production; the tests start many. This provider writes to the newest host's logger factory that is
/// still alive, and drops a line when none is.
/// </summary>
internal sealed class HangfireLogs : ILogProvider
{
    public static readonly HangfireLogs Instance = new();

    private static readonly List<ILoggerFactory> Factories = [];

    private HangfireLogs()
    {
    }

    public static void Add(ILoggerFactory factory)
    {
        lock (Factories)
        {
            if (!Factories.Contains(factory)) Factories.Add(factory);
        }
    }

    public ILog GetLogger(string name) => new HangfireLog(name);

    private static Microsoft.Extensions.Logging.ILogger? Logger(string name)
    {
        lock (Factories)
        {
            for (var i = Factories.Count - 1; i >= 0; i--)
            {
                try
                {
                    return Factories[i].CreateLogger(name);
                }
                catch (ObjectDisposedException)
                {
                    Factories.RemoveAt(i); // its host is gone
                }
            }
            return null;
        }
    }

    private sealed class HangfireLog(string name) : ILog
    {
        public bool Log(HangfireLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            Microsoft.Extensions.Logging.ILogger? logger;
            try
            {
                logger = Logger(name);
                var level = Map(logLevel);
                if (logger is null || !logger.IsEnabled(level)) return false;
                if (messageFunc is null) return true; // Hangfire asks whether the level is on
                logger.Log(level, 0, messageFunc(), exception, static (message, _) => message);
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false; // the host went away between the lookup and the write
            }
        }

        private static LogLevel Map(HangfireLevel level) => level switch
        {
            HangfireLevel.Trace => LogLevel.Trace,
            HangfireLevel.Debug => LogLevel.Debug,
            HangfireLevel.Info => LogLevel.Information,
            HangfireLevel.Warn => LogLevel.Warning,
            HangfireLevel.Error => LogLevel.Error,
            _ => LogLevel.Critical,
        };
    }
}
