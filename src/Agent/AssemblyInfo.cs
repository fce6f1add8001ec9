using System.Runtime.Versioning;

// The agent reads Linux cgroups and runs on Linux compute nodes only.
[assembly: SupportedOSPlatform("linux")]
