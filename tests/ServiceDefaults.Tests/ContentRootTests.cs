using Microsoft.Extensions.Hosting;

namespace ServiceDefaults.Tests;

/// <summary>The content-root rule: configured root, else a current directory with settings, else the app's folder.</summary>
public sealed class ContentRootTests : IDisposable
{
    private readonly string _current = Directory.CreateTempSubdirectory("cr-current-").FullName;
    private readonly string _app = Directory.CreateTempSubdirectory("cr-app-").FullName;

    public void Dispose()
    {
        Directory.Delete(_current, recursive: true);
        Directory.Delete(_app, recursive: true);
    }

    [Fact]
    public void A_process_started_in_a_folder_without_settings_uses_the_apps_folder()
    {
        File.WriteAllText(Path.Combine(_app, "appsettings.json"), "{}");

        Assert.Equal(_app, ContentRoot.Choose([], _current, _app));
    }

    [Fact]
    public void A_current_directory_with_settings_stays_the_content_root()
    {
        File.WriteAllText(Path.Combine(_app, "appsettings.json"), "{}");
        File.WriteAllText(Path.Combine(_current, "appsettings.json"), "{}");

        Assert.Null(ContentRoot.Choose([], _current, _app));
    }

    [Theory]
    [InlineData("--contentRoot=/somewhere")]
    [InlineData("--contentroot=/somewhere")]
    public void A_content_root_on_the_command_line_wins_as_WebApplicationFactory_passes_it(string argument)
    {
        File.WriteAllText(Path.Combine(_app, "appsettings.json"), "{}");

        Assert.Null(ContentRoot.Choose([argument], _current, _app));
    }

    [Fact]
    public void Without_settings_anywhere_the_host_default_is_kept()
    {
        Assert.Null(ContentRoot.Choose([], _current, _app));
    }

    [Fact]
    public void Builder_options_carry_the_arguments()
    {
        string[] args = ["--urls", "http://127.0.0.1:0"];

        Assert.Same(args, ContentRoot.BuilderOptions(args).Args);
    }
}
