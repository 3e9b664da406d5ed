using System.Diagnostics;

namespace HeadClassifier.Core;

/// <summary>This process's memory and the machine's, as Linux reports them in /proc.</summary>
public static class ProcessMemory
{
    /// <summary>The process's peak resident set (VmHWM on Linux), else the peak working set.</summary>
    public static long PeakResidentBytes() => ProcKilobytes("/proc/self/status", "VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64;

    /// <summary>The resident set now (VmRSS), or null off Linux.</summary>
    public static long? ResidentBytes() => ProcKilobytes("/proc/self/status", "VmRSS:");

    /// <summary>MemAvailable from /proc/meminfo, or null off Linux.</summary>
    public static long? AvailableBytes() => ProcKilobytes("/proc/meminfo", "MemAvailable:");

    /// <summary>A "Name: N kB" line of a /proc file in bytes, or null when the file or the line is missing.</summary>
    private static long? ProcKilobytes(string file, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    // Tab-separated once the value has 8 digits ("VmHWM:\t12345678 kB"): split on any whitespace.
                    return long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
        }
        return null;
    }
}
