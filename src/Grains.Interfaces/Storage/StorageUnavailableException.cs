namespace HpcJobs.Grains.Storage;

/// <summary>
/// The database could not be reached or refused a write (stopped server, read-only or full disk).
/// The API answers 503 <c>unavailable</c>; nothing was acknowledged.
/// </summary>
[GenerateSerializer, Alias("hpc.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
