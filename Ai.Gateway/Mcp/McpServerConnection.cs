using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ai.Gateway.Tools;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Ai.Gateway.Mcp;

/// <summary>
/// One external MCP server, through the official C# client over Streamable HTTP. One client session is opened when
/// first needed and shared by every call and refresh; a session that breaks (connection refused, a transport or
/// protocol failure, the server forgot it) is dropped, and the next call or refresh opens a new one.
/// Every failure of a call is a <see cref="ToolException"/> with a message safe for the caller, so the runtime turns
/// it into a tool error like any built-in tool's.
/// </summary>
internal sealed partial class McpServerConnection(
    string name, McpMountedServerOptions options, IHttpClientFactory httpClients, ILoggerFactory loggers, TimeProvider time) : IAsyncDisposable
{
    public const string HttpClientName = "mcp-servers";

    // Listing (and the connecting before it) is not a caller waiting: allow a slow server at least this long.
    private static readonly TimeSpan MinListTimeout = TimeSpan.FromSeconds(30);
    private const int MaxErrorChars = 2000;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = loggers.CreateLogger<McpServerConnection>();
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private McpClient? _client;
    private volatile McpServerStatus _status = McpServerStatus.NotYetListed;

    public string Name { get; } = name;

    public McpMountedServerOptions Options { get; } = options;

    /// <summary>What the last refresh found.</summary>
    public McpServerStatus Status
    {
        get => _status;
        set => _status = value;
    }

    public async Task<IList<McpClientTool>> ListToolsAsync(CancellationToken cancellationToken)
    {
        var limit = Options.Timeout > MinListTimeout ? Options.Timeout : MinListTimeout;
        using var timeout = new CancellationTokenSource(limit, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        McpClient? client = null;
        try
        {
            client = await ClientAsync(linked.Token);
            return await client.ListToolsAsync(cancellationToken: linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Drop(client);
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"tools/list got no answer within {limit.TotalSeconds:0.###} s."));
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Drop(client);
            throw;
        }
    }

    /// <summary>Calls <paramref name="remoteName"/> with arguments the gateway already validated; maps the result (see <see cref="Map"/>).</summary>
    public async Task<JsonNode?> CallAsync(string remoteName, JsonElement arguments, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(Options.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        McpClient? client = null;
        CallToolResult result;
        try
        {
            client = await ClientAsync(linked.Token);
            var values = arguments.ValueKind == JsonValueKind.Object
                ? arguments.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value, StringComparer.Ordinal)
                : new Dictionary<string, object?>(StringComparer.Ordinal);
            result = await client.CallToolAsync(remoteName, values, cancellationToken: linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ToolException(string.Create(CultureInfo.InvariantCulture,
                $"The MCP server '{Name}' did not answer within {Options.TimeoutSeconds:0.###} s."));
        }
        catch (McpProtocolException e) when (!cancellationToken.IsCancellationRequested)
        {
            // A JSON-RPC error: the server answered, so the session is fine.
            throw new ToolException(string.Create(CultureInfo.InvariantCulture,
                $"The MCP server '{Name}' refused the call (JSON-RPC error {(int)e.ErrorCode}): {Cut(e.Message)}"));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogCallFailed(e, Name, remoteName);
            Drop(client);
            throw new ToolException($"The MCP server '{Name}' could not be reached, or its answer broke the protocol.");
        }

        return Map(result);
    }

    /// <summary>
    /// A result with <c>isError</c> is a tool failure carrying the server's text. Otherwise the result is
    /// <c>structuredContent</c> when the server sent it, else the text of its text blocks joined by new lines, as a
    /// JSON string (other blocks are dropped; a result of only such blocks is a failure). Over
    /// <see cref="McpMountedServerOptions.MaxResultBytes"/> is a failure.
    /// </summary>
    private JsonNode? Map(CallToolResult result)
    {
        var texts = result.Content.OfType<TextContentBlock>().Select(t => t.Text).ToList();
        if (result.IsError == true)
        {
            var message = texts.Count > 0 ? string.Join("\n", texts) : "(no message)";
            throw new ToolException($"The MCP server '{Name}' reported an error: {Cut(message)}");
        }

        string json;
        if (result.StructuredContent is { } structured)
        {
            json = structured.GetRawText();
        }
        else if (texts.Count == 0 && result.Content.Count > 0)
        {
            var kinds = string.Join(", ", result.Content.Select(c => c.Type).Distinct(StringComparer.Ordinal));
            throw new ToolException($"The MCP server '{Name}' answered with {kinds} content only; the gateway passes on text and structured results.");
        }
        else
        {
            json = JsonSerializer.Serialize(string.Join("\n", texts));
        }

        if (Encoding.UTF8.GetByteCount(json) > Options.MaxResultBytes)
        {
            throw new ToolException(string.Create(CultureInfo.InvariantCulture,
                $"The result from MCP server '{Name}' is larger than {Options.MaxResultBytes} bytes."));
        }

        return JsonNode.Parse(json);
    }

    private async Task<McpClient> ClientAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _client) is { } open)
        {
            return open;
        }

        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_client is { } opened)
            {
                return opened;
            }

            var headers = new Dictionary<string, string>(Options.Headers, StringComparer.OrdinalIgnoreCase);
            if (Options.ApiKey is { Length: > 0 } key)
            {
                headers["Authorization"] = $"Bearer {key}";
            }

            var transport = new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(Options.Url!),
                TransportMode = HttpTransportMode.StreamableHttp,
                Name = Name,
                AdditionalHeaders = headers,
                // Nothing the gateway needs is pushed: the tool list is read again every RefreshSeconds.
                EnableStandaloneGetStream = false,
            }, httpClients.CreateClient(HttpClientName), loggers, ownsHttpClient: true);

            McpClient client;
            try
            {
                client = await McpClient.CreateAsync(transport, new McpClientOptions
                {
                    ClientInfo = new Implementation { Name = "ai-gateway", Version = "1.0" },
                    TimeProvider = time,
                }, loggers, cancellationToken);
            }
            catch
            {
                await transport.DisposeAsync();
                throw;
            }

            _client = client;
            // A session the transport ends (the server closed it) is dropped at once, not at the next failure.
            _ = client.Completion.ContinueWith(_ => Drop(client), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            LogConnected(Name);
            return client;
        }
        finally
        {
            _connecting.Release();
        }
    }

    /// <summary>
    /// Forgets the session so the next use opens a new one. Closing it (a DELETE to the server) runs in the
    /// background: a server that hangs must not hold up the call that found it broken.
    /// </summary>
    private void Drop(McpClient? client)
    {
        if (client is not null && Interlocked.CompareExchange(ref _client, null, client) == client)
        {
            _ = CloseAsync(client);
        }
    }

    private async Task CloseAsync(McpClient client)
    {
        try
        {
            await client.DisposeAsync().AsTask().WaitAsync(CloseTimeout, time);
        }
        catch (Exception e)
        {
            LogCloseFailed(e, Name);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _client, null) is { } client)
        {
            await CloseAsync(client);
        }
    }

    private static string Cut(string text) => text.Length <= MaxErrorChars ? text : text[..MaxErrorChars] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to MCP server {Server}")]
    private partial void LogConnected(string server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Calling tool {RemoteTool} of MCP server {Server} failed; the session is dropped")]
    private partial void LogCallFailed(Exception exception, string server, string remoteTool);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Closing the session with MCP server {Server} failed")]
    private partial void LogCloseFailed(Exception exception, string server);
}

/// <summary>What the last tools/list of a server found: how many tools are mounted, or why it failed.</summary>
internal sealed record McpServerStatus(bool Listed, int MountedTools, string? Problem)
{
    public static readonly McpServerStatus NotYetListed = new(false, 0, "The tool list has not been read yet.");
}
