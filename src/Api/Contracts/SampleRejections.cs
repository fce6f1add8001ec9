using HpcJobs.Api.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

/// <summary>How a sample the job grain refused is answered, on the single route and in a batch alike.</summary>
public static class SampleRejections
{
    public static RequestError ToError(SampleRejection rejection, DateTimeOffset serverTime) => rejection.Problem switch
    {
        SampleProblem.Timestamp => new RequestError(
            400,
            ErrorCodes.ValidationError,
            $"timestamp {rejection.Message}",
            new Dictionary<string, string>
            {
                ["timestamp"] = rejection.Message,
                ["server_time"] = Rfc3339.Format(serverTime),
            }),
        SampleProblem.Node => RequestError.Validation("node", rejection.Message),
        _ => new RequestError(403, ErrorCodes.Forbidden, rejection.Message),
    };

    public static BatchRejection ToBatch(int index, SampleRejection rejection, DateTimeOffset serverTime)
    {
        var error = ToError(rejection, serverTime);
        return new BatchRejection(index, error.Code, error.Message, error.Details);
    }
}
