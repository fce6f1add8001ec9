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
    /// Connections for Orleans' membership and reminders, in a pool of their own so that a burst of
    /// ingest holding every service connection cannot make a silo miss its liveness writes.
    /// </summary>
    public int MembershipPoolSize { get; set; } = 4;

    /// <summary>What sits between the silo and PostgreSQL (<c>DATABASE_POOLER</c>).</summary>
    public DatabasePooler Pooler { get; set; } = DatabasePooler.None;

    /// <summary>Most samples one COPY commits.</summary>
    public int MaxBatchSize { get; set; } = 5_000;
}

public enum DatabasePooler
{
    /// <summary>Direct connections: statements are prepared once per connection.</summary>
    None,

    /// <summary>
    /// PgBouncer in transaction pooling mode: consecutive transactions of one client may run on
    /// different server connections, so nothing may outlive a transaction — no prepared statements,
    /// no session reset on close (PgBouncer resets server connections itself).
    /// </summary>
    PgBouncer,
}
