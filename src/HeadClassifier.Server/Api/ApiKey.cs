using System.Security.Cryptography;
using System.Text;

namespace HeadClassifier.Server.Api;

/// <summary>
/// The key mutating calls must send in X-Api-Key. Configured (--api-key / HEADCLASSIFIER_API_KEY), or generated on
/// first start into &lt;data&gt;/api-key (mode 600) and printed once.
/// </summary>
public sealed class ApiKey
{
    public const string Header = "X-Api-Key";

    private readonly byte[] _key;

    public ApiKey(ServerOptions options, ILogger<ApiKey> log)
    {
        var key = options.ApiKey;
        if (key is null)
        {
            var file = Path.Combine(options.DataDir, "api-key");
            if (File.Exists(file))
            {
                key = File.ReadAllText(file).Trim();
            }
            else
            {
                key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
                Directory.CreateDirectory(options.DataDir);
                File.WriteAllText(file, key + "\n");
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                log.LogWarning("No API key was configured; generated one (saved in {File}): {Key}", file, key);
                Console.WriteLine($"HeadClassifier API key (send as {Header}): {key}");
            }
        }
        _key = Encoding.UTF8.GetBytes(key);
    }

    public bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _key);
}
