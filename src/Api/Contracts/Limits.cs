namespace HpcJobs.Api.Contracts;

/// <summary>The contract's bounds, in one place.</summary>
public static class Limits
{
    public const int MaxTextLength = 255;
    public const int MaxNodes = 4096;
    public const int DefaultListLimit = 100;
    public const int MaxListLimit = 1000;
    public const int DefaultHistoryLimit = 1000;
    public const int MaxHistoryLimit = 10_000;
    public const int MaxJsonDepth = 32;
    public const long DefaultMaxBodyBytes = 1024 * 1024;
    public const long DefaultMaxBatchBodyBytes = 16 * 1024 * 1024;
    public const int MaxBatchSamples = 10_000;
}

/// <summary>Job ids: 1–255 characters, printable, no '/', no control characters.</summary>
public static class JobId
{
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "must not be empty";
        }

        if (id.Length > Limits.MaxTextLength)
        {
            return $"must be at most {Limits.MaxTextLength} characters";
        }

        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            if (char.IsHighSurrogate(c) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1]))
            {
                i++;
                continue;
            }

            if (c == '/' || char.IsControl(c) || char.IsSurrogate(c))
            {
                return "must be printable and contain no '/' or control characters";
            }
        }

        return id.Trim().Length == 0 ? "must not be blank" : null;
    }
}
