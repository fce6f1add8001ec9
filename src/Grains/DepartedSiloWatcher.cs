using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains;

/// <summary>
/// Decides when the active jobs are re-activated, and by whom: the oldest active silo runs one pass
/// when it becomes the oldest (the cluster starts, or the oldest silo left) and after every silo that
/// leaves (stopped or declared dead), so that each active job is called once per departure in the
/// whole cluster. Every silo agrees on who is oldest once it has seen the same departures, so views
/// that differ for a moment can delay a pass but never skip one; a silo that dies during its pass is
/// itself a departure, and the next oldest runs a new pass.
/// </summary>
/// <remarks>
/// A departure also costs survivors some of their own activations: Orleans deactivates those whose
/// grain-directory entry lived on the departed silo, as each survivor learns of the departure. A
/// dropped job that the pass reaches afterwards is activated by the pass; one that the pass reached
/// just before its silo dropped it asks to be called again itself (<see cref="JobGrain"/>'s
/// deactivation, <see cref="ActiveJobActivator.Reactivate"/>).
/// </remarks>
public sealed partial class DepartedSiloWatcher(
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    IHostApplicationLifetime lifetime,
    ActiveJobActivator activator,
    ILogger<DepartedSiloWatcher> logger) : BackgroundService
{
    /// <summary>
    /// Survivors learn of a departure at slightly different times; starting the pass a moment later
    /// lets most of them drop their share first, so that fewer dropped jobs need a second call.
    /// </summary>
    private static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var known = new HashSet<SiloAddress>();
        var wasOldest = false;
        try
        {
            // Grain calls wait for the silo (and the host around it) to have started.
            using (var started = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStarted, stoppingToken))
            {
                await Task.Delay(Timeout.Infinite, started.Token).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }

            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken).ConfigureAwait(false))
            {
                var departed = snapshot.Members.Values
                    .Where(m => m.Status == SiloStatus.Dead && known.Remove(m.SiloAddress))
                    .Select(m => m.SiloAddress)
                    .ToList();
                foreach (var member in snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(localSilo.SiloAddress)))
                {
                    known.Add(member.SiloAddress);
                }

                var isOldest = localSilo.SiloAddress.Equals(Oldest(snapshot));
                if (isOldest && (departed.Count > 0 || !wasOldest))
                {
                    if (departed.Count > 0)
                    {
                        LogDeparted(logger, string.Join(", ", departed));
                        await Task.Delay(SettleDelay, stoppingToken).ConfigureAwait(false);
                    }
                    else
                    {
                        LogOldest(logger);
                    }

                    await activator.RunAsync(stoppingToken).ConfigureAwait(false);
                }

                wasOldest = isOldest;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// The active silo that started first (its generation), by address when two started in the same
    /// second: the same answer on every silo that sees the same members.
    /// </summary>
    internal static SiloAddress? Oldest(ClusterMembershipSnapshot snapshot) =>
        snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress)
            .OrderBy(s => s.Generation)
            .ThenBy(s => s.ToParsableString(), StringComparer.Ordinal)
            .FirstOrDefault();

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo(s) {Silos} left the cluster; this silo, the oldest, re-activates the active jobs")]
    private static partial void LogDeparted(ILogger logger, string silos);

    [LoggerMessage(Level = LogLevel.Information, Message = "This silo is the oldest of the cluster; it re-activates the active jobs")]
    private static partial void LogOldest(ILogger logger);
}
