namespace HpcJobs.Api;

public sealed class ApiOptions
{
    /// <summary>Largest request body accepted on the single-item routes.</summary>
    public long MaxBodyBytes { get; set; } = Contracts.Limits.DefaultMaxBodyBytes;

    /// <summary>Largest request body accepted on <c>POST /v1/metrics</c>.</summary>
    public long MaxBatchBodyBytes { get; set; } = Contracts.Limits.DefaultMaxBatchBodyBytes;
}
