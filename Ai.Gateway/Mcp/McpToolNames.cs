using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Ai.Gateway.Mcp;

/// <summary>
/// How a remote tool is named in the gateway: <c>&lt;server&gt;__&lt;tool&gt;</c>, the tool's name lower-cased
/// (invariant) with every character outside <c>a-z 0-9 _</c> replaced by <c>_</c> (<c>Get-Weather</c> →
/// <c>get_weather</c>). A name that then does not start with a letter, or a whole name over the gateway's 64
/// characters, is refused; so are two remote names that become the same gateway name.
/// </summary>
public static class McpToolNames
{
    public const string Separator = "__";
    private const int MaxLength = 64;

    public static bool TryMount(string server, string remoteName, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? problem)
    {
        var tool = new StringBuilder(remoteName.Length);
        foreach (var c in remoteName)
        {
            var lower = char.ToLowerInvariant(c);
            tool.Append(lower is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? lower : '_');
        }

        name = null;
        if (tool.Length == 0 || tool[0] is not (>= 'a' and <= 'z'))
        {
            problem = "A tool name must start with a letter.";
            return false;
        }

        var mounted = server + Separator + tool;
        if (mounted.Length > MaxLength)
        {
            problem = $"'{mounted}' is longer than {MaxLength} characters.";
            return false;
        }

        name = mounted;
        problem = null;
        return true;
    }
}
