using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace AppHost.Tests.Deploy;

/// <summary>
/// One of <c>AppHost/infra/&lt;resource&gt;.tmpl.yaml</c>: the container app azd deploys for a resource.
/// azd renders it as a Go template first; here each <c>{{ action }}</c> becomes the text <c>«action»</c>
/// and lines holding only <c>if</c>/<c>else</c>/<c>end</c> are dropped, so the rest reads as YAML.
/// </summary>
internal sealed partial class AzdTemplate
{
    private readonly Dictionary<object, object> _root;

    private AzdTemplate(Dictionary<object, object> root) => _root = root;

    public static AzdTemplate Load(string resource)
    {
        var path = Path.Combine(PublishedManifest.RepositoryRoot, "AppHost", "infra", $"{resource}.tmpl.yaml");
        Assert.True(File.Exists(path), $"azd would generate the container app of '{resource}' itself: {path} is missing.");

        var lines = File.ReadAllLines(path).Where(line => !ControlLine().IsMatch(line));
        var yaml = Action().Replace(string.Join('\n', lines), m => $"«{m.Groups[1].Value.Trim()}»");
        return new AzdTemplate(new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(yaml));
    }

    public Dictionary<object, object> Map(params string[] path) => (Dictionary<object, object>)Node(path);

    public List<object> List(params string[] path) => (List<object>)Node(path);

    public string Text(params string[] path) => (string)Node(path);

    public object Node(params string[] path)
    {
        object node = _root;
        foreach (var key in path)
        {
            Assert.True(node is Dictionary<object, object> map && map.ContainsKey(key), $"the template has no '{string.Join('.', path)}'");
            node = ((Dictionary<object, object>)node)[key];
        }

        return node;
    }

    public Dictionary<object, object> Container => (Dictionary<object, object>)List("properties", "template", "containers").Single();

    /// <summary>The container's environment: name → (value, secretRef).</summary>
    public Dictionary<string, (string? Value, string? SecretRef)> Environment =>
        ((List<object>)Container["env"]).Cast<Dictionary<object, object>>().ToDictionary(
            e => (string)e["name"],
            e => ((string?)e.GetValueOrDefault("value"), (string?)e.GetValueOrDefault("secretRef")));

    /// <summary>The container app's secrets: name → value.</summary>
    public Dictionary<string, string> Secrets =>
        List("properties", "configuration", "secrets").Cast<Dictionary<object, object>>()
            .ToDictionary(s => (string)s["name"], s => (string)s["value"]);

    [GeneratedRegex(@"^\s*\{\{-?\s*(if|else|end)\b[^}]*-?\}\}\s*$")]
    private static partial Regex ControlLine();

    [GeneratedRegex(@"\{\{-?(.*?)-?\}\}")]
    private static partial Regex Action();
}
