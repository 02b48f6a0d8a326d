using Ai.Gateway.Apis;
using Ai.Gateway.Extensions;

var builder = WebApplication.CreateBuilder(args);

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
