using HpcJobs.Grains.Storage.Postgres;
using Npgsql;

namespace HpcJobs.Silo.Tests;

public sealed class PostgresUrlTests
{
    [Fact]
    public void Parse_ReadsUrlForm()
    {
        var builder = PostgresConnectionString.Parse("postgres://hpc:p%40ss@db.example:6543/jobs?sslmode=disable");

        Assert.Equal("db.example", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("jobs", builder.Database);
        Assert.Equal("hpc", builder.Username);
        Assert.Equal("p@ss", builder.Password);
        Assert.Equal(SslMode.Disable, builder.SslMode);
    }

    [Fact]
    public void Parse_DefaultsPort_AndAcceptsKeywordForm()
    {
        Assert.Equal(5432, PostgresConnectionString.Parse("postgresql://u@h/d").Port);
        var keyword = PostgresConnectionString.Parse("Host=h;Port=1;Username=u;Database=d");
        Assert.Equal(("h", 1, "d"), (keyword.Host, keyword.Port, keyword.Database));
    }

    [Theory]
    [InlineData("postgres://u@h/d?sslmode=sometimes")]
    [InlineData("postgres://u@h/d?pool=3")]
    public void Parse_Rejects_UnknownParameters(string url) =>
        Assert.Throws<FormatException>(() => PostgresConnectionString.Parse(url));
}
