using Orchestration.Api.Apis;
using Orchestration.Api.Extensions;

var builder = WebApplication.CreateBuilder(args);

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
