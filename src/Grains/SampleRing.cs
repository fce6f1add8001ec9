namespace HpcJobs.Grains;

/// <summary>The last few samples a job received, in arrival order; fixed size so an active job's memory is bounded.</summary>
internal sealed class SampleRing(int capacity)
{
    private readonly UsageSample[] _items = new UsageSample[capacity];
    private int _next;
    private int _count;

    public void Add(UsageSample sample)
    {
        _items[_next] = sample;
        _next = (_next + 1) % _items.Length;
        _count = Math.Min(_count + 1, _items.Length);
    }

    public void Clear()
    {
        Array.Clear(_items);
        _next = 0;
        _count = 0;
    }

    public IReadOnlyList<UsageSample> ToList()
    {
        var result = new UsageSample[_count];
        var start = (_next - _count + _items.Length) % _items.Length;
        for (var i = 0; i < _count; i++)
        {
            result[i] = _items[(start + i) % _items.Length];
        }

        return result;
    }
}
