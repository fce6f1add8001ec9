using System.Data.Common;
using HpcJobs.Grains.Storage.Postgres;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HpcJobs.Api.Tests.Infrastructure;

/// <summary>A connection of the test's own to the service's database, to set it up or break it on purpose.</summary>
public static class DirectDatabase
{
    public static DbConnection Open(IReadOnlyDictionary<string, string> database)
    {
        DbConnection connection = IsSqlite(database)
            ? new SqliteConnection($"Data Source={database["DATABASE_URL"]};Pooling=False")
            : new NpgsqlConnection(PostgresConnectionString.Parse(database["DATABASE_URL"]).ConnectionString + ";Pooling=false");
        connection.Open();
        return connection;
    }

    public static bool IsSqlite(IReadOnlyDictionary<string, string> database) => database["DATABASE_TYPE"] == "sqlite";

    public static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task ExecuteAsync(IReadOnlyDictionary<string, string> database, string sql)
    {
        await using var connection = Open(database);
        await ExecuteAsync(connection, sql);
    }

    public static async Task<long> ScalarAsync(IReadOnlyDictionary<string, string> database, string sql)
    {
        await using var connection = Open(database);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
