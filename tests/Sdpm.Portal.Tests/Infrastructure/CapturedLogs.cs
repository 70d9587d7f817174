using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sdpm.Portal.Tests.Infrastructure;

/// <summary>The last warnings and errors a host logged, kept for a failure message (a CI log shows only its tail).</summary>
public sealed class CapturedLogs(int keep = 200) : ILoggerProvider
{
    private readonly ConcurrentQueue<string> lines = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public override string ToString() => string.Join('\n', lines);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lines.Enqueue(line);
        while (lines.Count > keep) lines.TryDequeue(out _);
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var error = exception is null ? "" : $" | {exception.GetType().Name}: {exception.Message}";
            owner.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{error}");
        }
    }
}
