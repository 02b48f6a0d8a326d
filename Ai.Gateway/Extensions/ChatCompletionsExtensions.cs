using Ai.Gateway.Embeddings;
using Ai.Gateway.OpenAICompat;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Extensions;

internal static class ChatCompletionsExtensions
{
    /// <summary>
    /// The OpenAI-compatible chat completions (<c>POST /v1/chat/completions</c>) and embeddings (<c>POST /v1/embeddings</c>)
    /// on top of the gateway policy.
    /// </summary>
    public static IHostApplicationBuilder AddChatCompletions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ChatCompletionsService>();
        builder.Services.AddOptions<EmbeddingsOptions>().BindConfiguration(EmbeddingsOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EmbeddingsOptions>, EmbeddingsOptionsValidator>();
        builder.Services.AddSingleton<EmbeddingsService>();

        // Problems written before the endpoint runs (401/403 from the API-key check, 413) or by the
        // exception handler get OpenAI's error object on this route too, so OpenAI SDKs show their message.
        builder.Services.Configure<ProblemDetailsOptions>(options =>
        {
            var earlier = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                earlier?.Invoke(context);
                OpenAIErrors.AddTo(context);
            };
        });

        return builder;
    }
}
