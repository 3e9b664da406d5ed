namespace HeadClassifier.Server.Store;

/// <summary>
/// The embedded SQLite store serves one process: Hangfire.Storage.SQLite's dequeue lock is per process, so two
/// processes on one file can run a job twice. An exclusive lock on a file beside the database (released by the OS
/// when the process dies, even by kill -9) makes a second process refuse to start instead.
/// </summary>
public sealed class SingleProcessLock : IDisposable
{
    private readonly FileStream _file;

    private SingleProcessLock(FileStream file) => _file = file;

    public static SingleProcessLock Acquire(ServerOptions options)
    {
        var path = options.SqlitePath + ".lock";
        try
        {
            // FileShare.None takes an exclusive flock on Linux.
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            file.SetLength(0);
            using (var w = new StreamWriter(file, leaveOpen: true)) w.Write($"{Environment.MachineName}:{Environment.ProcessId}\n");
            return new SingleProcessLock(file);
        }
        catch (IOException)
        {
            var holder = Holder(path);
            throw new DatabaseInUseException(
                $"another HeadClassifier process{(holder.Length > 0 ? $" ({holder})" : "")} is using the SQLite database in {options.DataDir} (lock {path}). " +
                "The embedded SQLite store serves one process: stop the other one, give this one its own --data, or use PostgreSQL (--db) for several processes.");
        }
    }

    private static string Holder(string path)
    {
        try
        {
            // Opened without any lock of our own (a shared flock would conflict with the holder's).
            using var f = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite });
            return new StreamReader(f).ReadToEnd().Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>The server refuses to start: the message says why and what to do.</summary>
public sealed class DatabaseInUseException(string message) : Exception(message);
