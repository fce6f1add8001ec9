using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent.Tests;

/// <summary>
/// Fake <c>nvidia-smi</c> and <c>rocm-smi</c> executables (bash scripts) that answer only the exact
/// queries the agent documents, printing what the test put in their data files.
/// </summary>
public sealed class FakeGpuTools : IDisposable
{
    public FakeGpuTools()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("hpc-agent-gpu-").FullName;
        Script("nvidia-smi", """
            case "$*" in
              "--query-gpu=index,uuid,utilization.gpu,memory.used --format=csv,noheader,nounits") cat "$here/gpus.csv" ;;
              "--query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits") cat "$here/apps.csv" ;;
              *) echo "unexpected arguments: $*" >&2; exit 9 ;;
            esac
            """);
        Script("rocm-smi", """
            case "$*" in
              "--showuse --showmeminfo vram --json") cat "$here/devices.json" ;;
              "--showpidgpus") cat "$here/pidgpus.txt" ;;
              *) echo "unexpected arguments: $*" >&2; exit 9 ;;
            esac
            """);
        Nvidia(string.Empty, string.Empty);
        Rocm("{}", string.Empty);
    }

    public string Directory { get; }

    public string NvidiaSmi => Path.Combine(Directory, "nvidia-smi");

    public string RocmSmi => Path.Combine(Directory, "rocm-smi");

    public void Nvidia(string gpus, string apps)
    {
        File.WriteAllText(Path.Combine(Directory, "gpus.csv"), gpus);
        File.WriteAllText(Path.Combine(Directory, "apps.csv"), apps);
    }

    public void Rocm(string devicesJson, string pidGpus)
    {
        File.WriteAllText(Path.Combine(Directory, "devices.json"), devicesJson);
        File.WriteAllText(Path.Combine(Directory, "pidgpus.txt"), pidGpus);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private void Script(string name, string body)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, "#!/bin/bash\nhere=\"$(dirname \"$0\")\"\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}

/// <summary>Keeps every log line, to check what is said and how often.</summary>
public sealed class ListLogger : ILogger
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
        {
            _lines.Add(logLevel + ": " + formatter(state, exception));
        }
    }
}
