namespace HpcJobs.Api;

public sealed class ApiOptions
{
    /// <summary>Largest request body accepted on the single-item routes.</summary>
    public long MaxBodyBytes { get; set; } = Contracts.Limits.DefaultMaxBodyBytes;
}
