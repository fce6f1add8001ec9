namespace HpcJobs.Grains.Storage;

/// <summary>
/// Whether a failure is the database being down, unreachable, full or shutting down (a retry may
/// succeed: 503) rather than a bug (500). The storage backend registers the rule, which knows its
/// drivers' error codes.
/// </summary>
public interface ITransientFailures
{
    bool IsTransient(Exception error);
}
