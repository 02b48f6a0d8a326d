using Ai.Gateway.Apis;
using Ai.Gateway.Extensions;

// The content root is the app's own folder, so appsettings.json is read wherever the process is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

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
