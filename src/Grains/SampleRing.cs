namespace HpcJobs.Grains;

/// <summary>
/// The last few samples a job received, in arrival order; fixed size so an active job's memory is
/// bounded. The array grows to <c>capacity</c> as samples arrive (1, 2, 4, …): most active jobs hold
/// one or a few, and a full array from the start was 120 bytes more per job with one sample. A value
/// in its grain's fields, not an object of its own (memory per active job); keep it in a field that
/// is not readonly, so that its methods change the field and not a copy.
/// </summary>
internal struct SampleRing(int capacity)
{
    private UsageSample[] _items = [];
    private int _next;
    private int _count;

    public void Add(UsageSample sample)
    {
        if (_count == _items.Length && _count < capacity)
        {
            // Never overwritten yet, so the items sit in order at the start of the array.
            Array.Resize(ref _items, Math.Min(capacity, Math.Max(1, _items.Length * 2)));
            _next = _count;
        }

        _items[_next] = sample;
        _next = (_next + 1) % _items.Length;
        _count = Math.Min(_count + 1, _items.Length);
    }

    public void Clear()
    {
        _items = [];
        _next = 0;
        _count = 0;
    }

    public readonly IReadOnlyList<UsageSample> ToList()
    {
        var result = new UsageSample[_count];
        var start = (_next - _count + _items.Length) % Math.Max(1, _items.Length);
        for (var i = 0; i < _count; i++)
        {
            result[i] = _items[(start + i) % _items.Length];
        }

        return result;
    }
}
