using System.Globalization;
using Orleans.Storage;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// Orleans grain storage on the SQLite file, written through the database's single group-commit
/// writer so that a state write never holds a scheduler thread on a file lock. The ETag is an
/// integer version; a stale ETag is an <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class SqliteGrainStorage(SqliteDatabase database, IGrainStorageSerializer serializer) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT etag, payload FROM grain_state WHERE state_name = $name AND grain_id = $id";
        command.Parameters.AddWithValue("$name", stateName);
        command.Parameters.AddWithValue("$id", grainId.ToString());
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (await reader.ReadAsync().ConfigureAwait(false))
        {
            grainState.State = serializer.Deserialize<T>(new BinaryData((byte[])reader.GetValue(1)))!;
            grainState.ETag = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var payload = serializer.Serialize(grainState.State).ToArray();
        var expected = ParseETag(grainState.ETag);
        var id = grainId.ToString();
        var version = await database.WriteAsync(new DelegateWrite<long>(context =>
        {
            var command = expected is null
                ? context.Command(
                    "INSERT INTO grain_state (state_name, grain_id, etag, payload) VALUES ($name, $id, 1, $payload) ON CONFLICT DO NOTHING",
                    "$name", "$id", "$payload")
                : context.Command(
                    "UPDATE grain_state SET etag = etag + 1, payload = $payload WHERE state_name = $name AND grain_id = $id AND etag = $etag",
                    "$name", "$id", "$payload", "$etag");
            command.Parameters[0].Value = stateName;
            command.Parameters[1].Value = id;
            command.Parameters[2].Value = payload;
            if (expected is { } etag)
            {
                command.Parameters[3].Value = etag;
            }

            return command.ExecuteNonQuery() == 1 ? (expected ?? 0) + 1 : -1;
        })).ConfigureAwait(false);

        if (version < 0)
        {
            throw new InconsistentStateException(
                $"stale ETag writing {stateName} of {id}", "unknown", grainState.ETag ?? "none");
        }

        grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var expected = ParseETag(grainState.ETag);
        var id = grainId.ToString();
        if (expected is { } etag)
        {
            var removed = await database.WriteAsync(new DelegateWrite<int>(context =>
            {
                var command = context.Command(
                    "DELETE FROM grain_state WHERE state_name = $name AND grain_id = $id AND etag = $etag",
                    "$name", "$id", "$etag");
                command.Parameters[0].Value = stateName;
                command.Parameters[1].Value = id;
                command.Parameters[2].Value = etag;
                return command.ExecuteNonQuery();
            })).ConfigureAwait(false);
            if (removed != 1)
            {
                throw new InconsistentStateException(
                    $"stale ETag clearing {stateName} of {id}", "unknown", grainState.ETag ?? "none");
            }
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static long? ParseETag(string? etag) =>
        etag is null ? null : long.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);
}
