using System.Runtime.InteropServices;
using System.Text.Json;

namespace HpcJobs.Api.Contracts;

/// <summary>
/// The job ids one batch names, numbered in order of first appearance. A batch names each of its jobs
/// once per sample (an agent's batch is a few samples of each of its node's jobs), so an id seen
/// before is found from the document's bytes: no new string, no second check. An id with an escape or
/// a byte outside ASCII is read as a string and checked each time, as before.
/// </summary>
internal sealed class BatchJobIds
{
    private readonly Dictionary<string, int> _numbers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _byText;
    private readonly List<string> _ids = [];

    public BatchJobIds() => _byText = _numbers.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _ids.Count;

    public string this[int job] => _ids[job];

    /// <summary>The number of the job named by a JSON value, if the value is a valid job id (<see cref="JobId.Problem"/>).</summary>
    public bool TryRead(JsonElement value, out int job)
    {
        job = -1;
        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        Span<char> text = stackalloc char[Limits.MaxTextLength];
        if (Json.JsonAsciiText.TryCopy(value, text, out var length) && _byText.TryGetValue(text[..length], out job))
        {
            return true;
        }

        var id = value.GetString();
        if (JobId.Problem(id) is not null)
        {
            return false;
        }

        job = Add(id!);
        return true;
    }

    /// <summary>The number of a valid job id, numbering it if it is new.</summary>
    public int Add(string id)
    {
        ref var job = ref CollectionsMarshal.GetValueRefOrAddDefault(_numbers, id, out var exists);
        if (!exists)
        {
            job = _ids.Count;
            _ids.Add(id);
        }

        return job;
    }
}
