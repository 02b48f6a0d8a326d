using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tools;

/// <summary>What a caller or a model sees of a tool.</summary>
public sealed record ToolDescriptor(string Name, string Description, JsonElement InputSchema, JsonElement OutputSchema);

/// <summary>A tool <see cref="ToolRuntime.Mount"/> left out, and why (in words safe to log).</summary>
public sealed record RefusedTool(string Name, string Reason);

/// <summary>
/// Runs the registered <see cref="ITool"/>s: arguments are checked against the input schema before
/// a tool runs and its result against the output schema after; failures come back as results, never
/// as exceptions (except cancellation by the caller). Independent of HTTP, so the API, hosted
/// agents and model tool calls (<see cref="AsAIFunctions"/>) share it.
/// The built-in tools are fixed at start; tools mounted at run time (<see cref="Mount"/>, e.g. from MCP servers)
/// join them in an immutable snapshot that is swapped whole, so a lookup never sees half a change.
/// </summary>
public sealed partial class ToolRuntime
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;
    private readonly FrozenDictionary<string, RegisteredTool> _builtIn;
    private readonly Lock _mounting = new();
    private readonly Dictionary<string, IReadOnlyList<RegisteredTool>> _mounted = new(StringComparer.Ordinal); // under _mounting
    private volatile ToolSet _current;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ILogger<ToolRuntime> _logger;
    private readonly ToolTelemetry? _telemetry;

    public ToolRuntime(
        IEnumerable<ITool> tools, TimeProvider timeProvider, IOptions<ToolRuntimeOptions> options, ILogger<ToolRuntime> logger, ToolTelemetry? telemetry = null)
    {
        var registered = tools.Select(Register).ToList();
        var duplicate = registered.GroupBy(t => t.Descriptor.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two tools are named '{duplicate.Key}'.");
        }

        _builtIn = registered.ToFrozenDictionary(t => t.Descriptor.Name, StringComparer.Ordinal);
        _current = new ToolSet(_builtIn.Values);
        _time = timeProvider;
        _timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds);
        _logger = logger;
        _telemetry = telemetry;
    }

    /// <summary>Every tool, built-in and mounted, by name.</summary>
    public IReadOnlyList<ToolDescriptor> Tools => _current.Descriptors;

    public bool TryGetTool(string name, [NotNullWhen(true)] out ToolDescriptor? tool)
    {
        tool = _current.ByName.TryGetValue(name, out var registered) ? registered.Descriptor : null;
        return tool is not null;
    }

    /// <summary>
    /// Replaces every tool mounted from <paramref name="source"/> (e.g. one MCP server) with <paramref name="tools"/>
    /// (none: unmounts the source). A tool whose name or schemas break the rules of <see cref="ITool"/>, or whose name
    /// a built-in tool or another source already has, is left out and returned with the reason; the others are
    /// checked and called exactly like built-in tools.
    /// </summary>
    public IReadOnlyList<RefusedTool> Mount(string source, IEnumerable<ITool> tools)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        var refused = new List<RefusedTool>();
        lock (_mounting)
        {
            var taken = new HashSet<string>(_builtIn.Keys, StringComparer.Ordinal);
            taken.UnionWith(_mounted.Where(m => m.Key != source).SelectMany(m => m.Value).Select(t => t.Descriptor.Name));
            var accepted = new List<RegisteredTool>();
            foreach (var tool in tools)
            {
                if (!taken.Add(tool.Name))
                {
                    refused.Add(new RefusedTool(tool.Name, "Another tool already has this name."));
                    continue;
                }

                try
                {
                    accepted.Add(Register(tool));
                }
                catch (Exception e)
                {
                    // A schema from elsewhere may fail in ways a built-in one never does; it costs only that tool.
                    refused.Add(new RefusedTool(tool.Name, e.Message));
                }
            }

            if (accepted.Count > 0)
            {
                _mounted[source] = accepted;
            }
            else
            {
                _mounted.Remove(source);
            }

            _current = new ToolSet(_builtIn.Values.Concat(_mounted.Values.SelectMany(t => t)));
        }

        return refused;
    }

    /// <summary>
    /// Validates <paramref name="arguments"/> (an undefined element counts as <c>{}</c>), runs the
    /// tool within the configured time limit, and validates its result.
    /// </summary>
    public async Task<ToolInvocationResult> InvokeAsync(string name, JsonElement arguments, CancellationToken cancellationToken = default)
    {
        var result = await InvokeCoreAsync(name, arguments, cancellationToken);
        _telemetry?.Record(result);
        return result;
    }

    private async Task<ToolInvocationResult> InvokeCoreAsync(string name, JsonElement arguments, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        if (!_current.ByName.TryGetValue(name, out var tool))
        {
            return new() { Tool = name, Status = ToolInvocationStatus.NotFound, Error = $"There is no tool named '{name}'." };
        }

        if (arguments.ValueKind == JsonValueKind.Undefined)
        {
            arguments = EmptyObject;
        }

        var argumentErrors = tool.Input.Validate(arguments);
        if (argumentErrors.Count > 0)
        {
            return InvalidArguments(name, argumentErrors, started);
        }

        JsonElement result;
        using (var timeout = new CancellationTokenSource(_timeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                var output = await tool.Tool.InvokeAsync(arguments, linked.Token);
                result = JsonSerializer.SerializeToElement(output);
            }
            catch (ToolArgumentException e)
            {
                return InvalidArguments(name, [new SchemaError(e.Path, e.Message)], started);
            }
            catch (ToolException e)
            {
                LogToolFailed(name, e.Message);
                return Failed(name, e.Message, [], started);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                var message = string.Create(CultureInfo.InvariantCulture, $"The tool did not finish within {_timeout.TotalSeconds:0.###} s.");
                LogToolFailed(name, message);
                return Failed(name, message, [], started);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // The exception may hold internals (paths, hosts, stack): log it, tell the caller only that it failed.
                LogToolThrew(e, name);
                return Failed(name, $"The tool '{name}' failed unexpectedly.", [], started);
            }
        }

        var resultErrors = tool.Output.Validate(result);
        if (resultErrors.Count > 0)
        {
            LogInvalidResult(name, resultErrors.Count);
            return Failed(name, $"The result of tool '{name}' does not match its output schema.", resultErrors, started);
        }

        return new() { Tool = name, Status = ToolInvocationStatus.Succeeded, Result = result, Latency = _time.GetElapsedTime(started) };
    }

    /// <summary>
    /// The tools as Microsoft.Extensions.AI functions for a chat client's function invocation:
    /// all of them, or those named (an unknown name throws <see cref="ArgumentException"/>).
    /// </summary>
    public IReadOnlyList<AIFunction> AsAIFunctions(IEnumerable<string>? allowedNames = null)
    {
        var current = _current;
        if (allowedNames is null)
        {
            return current.Descriptors.Select(t => (AIFunction)new ToolFunction(this, t)).ToList();
        }

        var names = allowedNames.Distinct(StringComparer.Ordinal).ToList();
        var unknown = names.Where(n => !current.ByName.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown tools: {string.Join(", ", unknown)}.", nameof(allowedNames));
        }

        return names.Select(n => (AIFunction)new ToolFunction(this, current.ByName[n].Descriptor)).ToList();
    }

    private ToolInvocationResult InvalidArguments(string name, IReadOnlyList<SchemaError> errors, long started) => new()
    {
        Tool = name,
        Status = ToolInvocationStatus.InvalidArguments,
        Error = $"The arguments for tool '{name}' are not valid.",
        Errors = errors,
        Latency = _time.GetElapsedTime(started),
    };

    private ToolInvocationResult Failed(string name, string error, IReadOnlyList<SchemaError> errors, long started) => new()
    {
        Tool = name,
        Status = ToolInvocationStatus.Failed,
        Error = error,
        Errors = errors,
        Latency = _time.GetElapsedTime(started),
    };

    private static RegisteredTool Register(ITool tool)
    {
        if (!ToolName().IsMatch(tool.Name))
        {
            throw new InvalidOperationException($"Tool name '{tool.Name}' must match {ToolName()}.");
        }

        if (!tool.InputSchema.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "object")
        {
            throw new InvalidOperationException($"The input schema of tool '{tool.Name}' must have \"type\": \"object\".");
        }

        var input = JsonSchemaValidator.TryCreate(tool.InputSchema, out var i, out var inputError) ? i
            : throw new InvalidOperationException($"The input schema of tool '{tool.Name}' is not valid: {inputError}");
        var output = JsonSchemaValidator.TryCreate(tool.OutputSchema, out var o, out var outputError) ? o
            : throw new InvalidOperationException($"The output schema of tool '{tool.Name}' is not valid: {outputError}");

        return new RegisteredTool(tool, new ToolDescriptor(tool.Name, tool.Description, input.Json, output.Json), input, output);
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex ToolName();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool {Tool} failed: {Reason}")]
    private partial void LogToolFailed(string tool, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tool {Tool} threw an unexpected exception")]
    private partial void LogToolThrew(Exception exception, string tool);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tool {Tool} returned a result that breaks its output schema ({ErrorCount} errors)")]
    private partial void LogInvalidResult(string tool, int errorCount);

    private sealed record RegisteredTool(ITool Tool, ToolDescriptor Descriptor, JsonSchemaValidator Input, JsonSchemaValidator Output);

    /// <summary>One consistent view of every tool: replaced whole, never changed.</summary>
    private sealed class ToolSet
    {
        public ToolSet(IEnumerable<RegisteredTool> tools)
        {
            ByName = tools.ToFrozenDictionary(t => t.Descriptor.Name, StringComparer.Ordinal);
            Descriptors = ByName.Values.Select(t => t.Descriptor).OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
        }

        public FrozenDictionary<string, RegisteredTool> ByName { get; }

        public IReadOnlyList<ToolDescriptor> Descriptors { get; }
    }
}
