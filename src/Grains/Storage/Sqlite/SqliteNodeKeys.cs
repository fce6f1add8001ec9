using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The writer's map of node names to sample_nodes keys. A name seen for the first time gets its key in
/// the open transaction; it joins the map only when that transaction commits, since a rolled-back
/// transaction takes the row (and the key, which SQLite may give to another name) with it.
/// Used on the writer's thread only; a cluster has thousands of nodes, not millions, so all are kept.
/// </summary>
internal sealed class SqliteNodeKeys(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, long> _committed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pending = new(StringComparer.Ordinal);
    private SqliteCommand? _find;
    private SqliteCommand? _add;

    public long Get(string node, SqliteTransaction? transaction)
    {
        if (_committed.TryGetValue(node, out var key) || _pending.TryGetValue(node, out key))
        {
            return key;
        }

        _find ??= Command("SELECT node_key FROM sample_nodes WHERE name = $name");
        _add ??= Command("INSERT INTO sample_nodes (name) VALUES ($name) RETURNING node_key");
        _find.Transaction = transaction;
        _find.Parameters[0].Value = node;
        if (_find.ExecuteScalar() is long stored)
        {
            _committed[node] = stored;
            return stored;
        }

        _add.Transaction = transaction;
        _add.Parameters[0].Value = node;
        key = (long)_add.ExecuteScalar()!;
        _pending[node] = key;
        return key;
    }

    public void Commit()
    {
        foreach (var (node, key) in _pending)
        {
            _committed[node] = key;
        }

        _pending.Clear();
    }

    public void Discard() => _pending.Clear();

    public void Dispose()
    {
        _find?.Dispose();
        _add?.Dispose();
    }

    private SqliteCommand Command(string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.Add(new SqliteParameter("$name", null));
        return command;
    }
}
