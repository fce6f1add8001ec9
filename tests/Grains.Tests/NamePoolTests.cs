namespace HpcJobs.Grains.Tests;

/// <summary>User and node names shared by the jobs of a silo (NamePool).</summary>
public sealed class NamePoolTests
{
    private static string Fresh(string text) => new(text.AsSpan());

    [Fact]
    public void Intern_EqualNames_AreOneString()
    {
        var pool = new NamePool();
        var first = pool.Intern(Fresh("alice"));

        Assert.Same(first, pool.Intern(Fresh("alice")));
        Assert.NotSame(first, pool.Intern(Fresh("bob")));
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void Intern_Record_PoolsUserAndNodes_ReplacingTheNodeList_NeverChangingIt()
    {
        var pool = new NamePool();
        var node = pool.Intern(Fresh("cn001"));
        var user = pool.Intern(Fresh("alice"));
        var given = new List<string> { Fresh("cn001"), Fresh("cn002") };
        var record = new JobRecord { User = Fresh("alice"), Nodes = given };

        pool.Intern(record);

        Assert.Same(user, record.User);
        Assert.Same(node, record.Nodes[0]);
        Assert.Equal(["cn001", "cn002"], record.Nodes);
        Assert.NotSame(given, record.Nodes);
        Assert.NotSame(node, given[0]);

        // Already pooled: the list is kept.
        var pooled = record.Nodes;
        pool.Intern(record);
        Assert.Same(pooled, record.Nodes);
    }
}
