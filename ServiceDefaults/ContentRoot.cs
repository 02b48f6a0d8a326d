using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Where a service reads its <c>appsettings.json</c> from. The host's default content root is the current
/// directory, so a service started from elsewhere (<c>dotnet /path/to/Service.dll</c>, a service manager, a
/// shell in the repository root) ran without its settings. The rule, in order:
/// <list type="number">
/// <item>a content root given on the command line (<c>--contentRoot</c>) or in <c>DOTNET_CONTENTROOT</c> /
/// <c>ASPNETCORE_CONTENTROOT</c> wins (this is also how <c>WebApplicationFactory</c> sets it in tests);</item>
/// <item>else the current directory, when it holds an <c>appsettings.json</c> (<c>dotnet run</c>, the AppHost,
/// a container whose working directory is the app);</item>
/// <item>else the app's own folder (<see cref="AppContext.BaseDirectory"/>), when that holds one.</item>
/// </list>
/// </summary>
public static class ContentRoot
{
    private const string SettingsFile = "appsettings.json";

    /// <summary>The options for <c>WebApplication.CreateBuilder</c> with the content root chosen by the rule above.</summary>
    public static WebApplicationOptions BuilderOptions(string[] args) =>
        new() { Args = args, ContentRootPath = Choose(args, Directory.GetCurrentDirectory(), AppContext.BaseDirectory) };

    /// <summary>The content root to set, or <see langword="null"/> to leave the host's default (the current directory or the configured one).</summary>
    internal static string? Choose(string[] args, string currentDirectory, string appDirectory)
    {
        var configured = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build()[HostDefaults.ContentRootKey];
        if (!string.IsNullOrEmpty(configured) || File.Exists(Path.Combine(currentDirectory, SettingsFile)))
        {
            return null;
        }

        return File.Exists(Path.Combine(appDirectory, SettingsFile)) ? appDirectory : null;
    }
}
