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

    /// <summary>Most samples one COPY commits.</summary>
    public int MaxBatchSize { get; set; } = 5_000;
}
