namespace Ai.Gateway.Tools;

/// <summary>One reason a JSON value breaks a schema: where (a JSON Pointer, "" for the root) and why.</summary>
public sealed record SchemaError(string Path, string Message);
