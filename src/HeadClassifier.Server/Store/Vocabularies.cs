using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeadClassifier.Server.Store;

// The closed sets the database, the API and the dashboard share. Each is stored and shown as its member's name in
// lowercase ("queued"), through Stored() and the JSON converter below: the text columns and the API's strings predate
// the enums, so existing databases and clients keep working.

[JsonConverter(typeof(StoredNameConverter<JobStatus>))]
public enum JobStatus { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>Where a watched folder's entry stands.</summary>
[JsonConverter(typeof(StoredNameConverter<CheckpointState>))]
public enum CheckpointState
{
    /// <summary>Seen once, or changed since the last scan: may still be being written.</summary>
    Pending,
    Enqueued,
    /// <summary>Same weights as a checkpoint already enqueued for this watch.</summary>
    Duplicate,
    Rejected,
}

/// <summary>How one run (attempt) of a job ended.</summary>
[JsonConverter(typeof(StoredNameConverter<RunOutcome>))]
public enum RunOutcome
{
    Succeeded,
    Failed,
    Cancelled,
    /// <summary>Its worker stopped cleanly (shutdown); the job went back to the queue.</summary>
    Interrupted,
    /// <summary>Its worker died without a word (kill -9, a lost node), recorded when that is found.</summary>
    Lost,
}

public static class StoredNames
{
    /// <summary>The member's name in lowercase: the text stored, sent and shown.</summary>
    public static readonly JsonNamingPolicy Policy = new LowerCase();

    /// <summary>
    /// The text a column holds. Dapper reads it back into the enum (Enum.Parse ignoring case) but would write an enum
    /// parameter as its number, so every SQL parameter passes this instead of the enum.
    /// </summary>
    public static string Stored<T>(this T value) where T : struct, Enum => Policy.ConvertName(value.ToString());

    /// <summary>Every member's stored text, in declaration order.</summary>
    public static IReadOnlyList<string> All<T>() where T : struct, Enum => [.. Enum.GetValues<T>().Select(v => v.Stored())];

    /// <summary>The member whose stored text is exactly <paramref name="text"/> (no numbers, no other casing).</summary>
    public static bool TryParse<T>(string text, out T value) where T : struct, Enum
    {
        foreach (var v in Enum.GetValues<T>())
        {
            if (v.Stored() != text) continue;
            value = v;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>The member stored as <paramref name="text"/>, for a value read straight from a column.</summary>
    public static T Parse<T>(string text) where T : struct, Enum =>
        TryParse<T>(text, out var value) ? value : throw new InvalidDataException($"'{text}' is not a {typeof(T).Name} (one of {string.Join(", ", All<T>())})");

    public static bool IsFinal(this JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;

    private sealed class LowerCase : JsonNamingPolicy
    {
        public override string ConvertName(string name) => name.ToLowerInvariant();
    }
}

/// <summary>The enum as its stored text in JSON (API, dashboard, scan summaries); numbers are refused.</summary>
public sealed class StoredNameConverter<T>() : JsonStringEnumConverter<T>(StoredNames.Policy, allowIntegerValues: false) where T : struct, Enum;
