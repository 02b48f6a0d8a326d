using Ai.Gateway.Apis;
using Ai.Gateway.Extensions;

// The content root is the app's own folder when it is started from a directory without its settings (ContentRoot).
var builder = WebApplication.CreateBuilder(ContentRoot.BuilderOptions(args));

builder.AddServiceDefaults();
builder.AddApiDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseApiDefaults();
app.MapDefaultEndpoints();
app.MapApiDocs();

app.MapModelsApi();
app.MapGenerateApi();
app.MapUsageApi();
app.MapToolsApi();
app.MapMcpApi();
app.MapPromptsApi();
app.MapChatCompletionsApi();
app.MapEmbeddingsApi();

app.Run();

public partial class Program;
