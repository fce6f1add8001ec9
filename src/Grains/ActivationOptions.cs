namespace HpcJobs.Grains;

public sealed class ActivationOptions
{
    /// <summary>Active job ids read per page when re-activating them (<c>ACTIVATION_PAGE_SIZE</c>).</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>Jobs activated at once: enough to hide the database round trips, few enough to leave the silo serving.</summary>
    public int Concurrency { get; set; } = 16;
}
