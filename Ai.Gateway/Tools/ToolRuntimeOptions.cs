using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Tools;

/// <summary>Limits for every tool call (configuration section <c>Tools</c>).</summary>
public sealed class ToolRuntimeOptions
{
    public const string SectionName = "Tools";

    /// <summary>Longest a tool may run before the call fails. Default 30 s.</summary>
    [Range(0.01, 600)]
    public double TimeoutSeconds { get; set; } = 30;
}

[OptionsValidator]
public sealed partial class ToolRuntimeOptionsValidator : IValidateOptions<ToolRuntimeOptions>;
