using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Microsoft.Extensions.Hosting;

/// <summary>Request limits shared by the HTTP APIs (<c>Api</c> configuration section).</summary>
public sealed class ApiLimitsOptions
{
    public const string SectionName = "Api";

    /// <summary>Largest request body accepted, in bytes; larger bodies get 413. Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Deepest JSON nesting accepted in a request body. Default 32.</summary>
    public int MaxJsonDepth { get; set; } = 32;
}

/// <summary>What both HTTP APIs share: problem details, API keys, request limits, OpenAPI.</summary>
public static class ApiDefaults
{
    public static TBuilder AddApiDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var limits = builder.Configuration.GetSection(ApiLimitsOptions.SectionName).Get<ApiLimitsOptions>() ?? new ApiLimitsOptions();

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddExceptionHandler<StoreUnavailableExceptionHandler>();
        builder.AddApiKeyAuthentication();

        builder.Services.AddSingleton(limits);
        builder.Services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.MaxDepth = limits.MaxJsonDepth);

        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeySecuritySchemeTransformer>());
        return builder;
    }

    /// <summary>Turns unhandled errors and bare status codes into problem details, then authenticates.</summary>
    public static WebApplication UseApiDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(RejectOversizedBodies);
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Maps the OpenAPI document at <c>/openapi/v1.json</c>. In Development it and the Scalar UI
    /// (<c>/scalar</c>) are open so a browser can read them; elsewhere the document needs an API key.
    /// </summary>
    public static WebApplication MapApiDocs(this WebApplication app)
    {
        // The one document the services publish. The default '/openapi/{documentName}.json' (and a literal path, whose
        // handler then binds ?documentName=) answers an unknown name with a text/plain 404 of its own instead of
        // problem details; a route value only 'v1' matches leaves other names to routing's 404.
        var document = app.MapOpenApi("/openapi/{documentName:regex(^v1$)}.json");
        if (app.Environment.IsDevelopment())
        {
            document.AllowAnonymous();
            app.MapScalarApiReference().AllowAnonymous();
        }

        return app;
    }

    // Kestrel enforces the limit while a body is read (chunked bodies included); a declared
    // Content-Length over the limit is refused up front, before any handler runs.
    private static async Task RejectOversizedBodies(HttpContext context, Func<Task> next)
    {
        var limits = context.RequestServices.GetRequiredService<ApiLimitsOptions>();
        if (context.Request.ContentLength > limits.MaxRequestBodyBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await ProblemAnswer.WriteAsync(context, new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "Request body too large",
                Detail = $"The body may be at most {limits.MaxRequestBodyBytes} bytes.",
            });
            return;
        }

        await next();
    }

    private sealed class ApiKeySecuritySchemeTransformer : IOpenApiDocumentTransformer
    {
        public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "The API key (also accepted as 'Authorization: Bearer <key>').",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [],
            });
            return Task.CompletedTask;
        }
    }
}
