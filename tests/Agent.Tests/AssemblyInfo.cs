using System.Runtime.Versioning;

// The agent is Linux-only; so are its tests (cgroups, bash scripts as GPU tools).
[assembly: SupportedOSPlatform("linux")]
