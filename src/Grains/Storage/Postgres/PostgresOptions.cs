namespace HpcJobs.Grains.Storage.Postgres;

public sealed class PostgresOptions
{
    /// <summary>An Npgsql connection string (the URL form is converted by <see cref="PostgresConnectionString"/>).</summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>
    /// Connections this silo may hold. Every silo opens up to this many, so N silos need
    /// N × this below PostgreSQL's max_connections (100 by default).
    /// </summary>
    public int MaxPoolSize { get; set; } = 20;

    /// <summary>
    /// Sample writers, each with its own connection and ordered queue; a job always uses the same one.
    /// More than one lets a commit's round trips overlap with the next batch's preparation.
    /// </summary>
    public int SampleWriters { get; set; } = 4;

    /// <summary>Most appends (one job's samples each) one writer's COPY commits.</summary>
    public int MaxBatchSize { get; set; } = 5_000;
}
