using Orchestration.Api.Apis;
using Orchestration.Api.Extensions;

// The content root is the app's own folder when it is started from a directory without its settings (ContentRoot).
var builder = WebApplication.CreateBuilder(ContentRoot.BuilderOptions(args));

builder.AddServiceDefaults();
builder.AddApiDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseApiDefaults();
app.MapDefaultEndpoints();
app.MapApiDocs();

app.MapAgentsApi();
app.MapWorkflowsApi();
app.MapRunsApi();
app.MapDeadLettersApi();

app.Run();

public partial class Program;
