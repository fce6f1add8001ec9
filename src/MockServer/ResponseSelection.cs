using HpcJobs.Api.Contracts;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer;

/// <summary>A documented response, the media type to send it as, and the example to send (null: none documented).</summary>
public sealed record SelectedResponse(SpecResponse Response, SpecMediaType? MediaType, SpecExample? Example);

public static class ResponseSelection
{
    /// <summary>
    /// Without a preference, the success response's first example. <c>code</c> picks the first
    /// example of that documented status; <c>example</c> a named example, of that status when
    /// <c>code</c> is given too, else of the success response first and then of any other.
    /// </summary>
    public static SelectedResponse? Select(SpecOperation operation, Preference preference, out RequestError? error)
    {
        error = null;
        IEnumerable<SpecResponse> candidates;
        if (preference.Code is { } code)
        {
            var response = operation.Responses.FirstOrDefault(r => r.Status.Equals(code, StringComparison.OrdinalIgnoreCase));
            if (response is null)
            {
                error = Unmet(preference, $"status {code} is not documented for {operation.OperationId}; documented: {string.Join(", ", operation.Responses.Select(r => r.Status))}");
                return null;
            }

            candidates = [response];
        }
        else
        {
            var success = operation.Success;
            candidates = preference.Example is null ? [success] : [success, .. operation.Responses.Where(r => r != success)];
        }

        if (preference.Example is not { } name)
        {
            var response = candidates.First();
            var media = response.Content.FirstOrDefault();
            return new SelectedResponse(response, media, media?.Examples.FirstOrDefault());
        }

        foreach (var response in candidates)
        {
            foreach (var media in response.Content)
            {
                if (media.Examples.FirstOrDefault(e => e.Name == name) is { } example)
                {
                    return new SelectedResponse(response, media, example);
                }
            }
        }

        var known = candidates.SelectMany(r => r.Content.SelectMany(m => m.Examples.Select(e => $"{e.Name} ({r.Status})"))).Distinct();
        error = Unmet(preference, $"no example named '{name}' for {operation.OperationId}; documented: {string.Join(", ", known)}");
        return null;
    }

    private static RequestError Unmet(Preference preference, string why) =>
        new(400, ErrorCodes.InvalidRequest, $"cannot honour Prefer: {preference}: {why}", new Dictionary<string, string> { ["Prefer"] = why });
}
