using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Model;

/// <summary>Checks each model's fields and the rules across models: unique ids, known fallbacks, a known default.</summary>
public sealed partial class ModelCatalogOptionsValidator : IValidateOptions<ModelCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCatalogOptions options)
    {
        var errors = new List<string>();
        Collect(options, $"{ModelCatalogOptions.SectionName}", errors);

        if (options.Models.Count == 0)
        {
            errors.Add("Gateway:Models: the catalog needs at least one model.");
        }

        foreach (var model in options.All)
        {
            if (!ModelId().IsMatch(model.Id))
            {
                errors.Add($"Gateway:Models:{model.Id}: a model id is 1-128 letters, digits, '.', '_' or '-'.");
            }

            Collect(model, $"{ModelCatalogOptions.SectionName}:Models:{model.Id}", errors);
            Collect(model.Cache, $"{ModelCatalogOptions.SectionName}:Models:{model.Id}:Cache", errors);
        }

        var known = options.Models.Keys.ToHashSet(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(options.DefaultModel) && !known.Contains(options.DefaultModel))
        {
            errors.Add($"Gateway:DefaultModel '{options.DefaultModel}' is not in Gateway:Models.");
        }

        if (options.Models.TryGetValue(options.DefaultModel, out var defaultModel) && defaultModel.Kind != ModelKind.Chat)
        {
            errors.Add($"Gateway:DefaultModel '{options.DefaultModel}' is an embedding model; the default must be a chat model.");
        }

        if (!string.IsNullOrEmpty(options.DefaultEmbeddingModel))
        {
            if (!options.Models.TryGetValue(options.DefaultEmbeddingModel, out var embedding))
            {
                errors.Add($"Gateway:DefaultEmbeddingModel '{options.DefaultEmbeddingModel}' is not in Gateway:Models.");
            }
            else if (embedding.Kind != ModelKind.Embedding)
            {
                errors.Add($"Gateway:DefaultEmbeddingModel '{options.DefaultEmbeddingModel}' is a chat model; set Gateway:Models:{options.DefaultEmbeddingModel}:Kind to Embedding or name an embedding model.");
            }
        }

        foreach (var model in options.All)
        {
            foreach (var fallback in model.Fallbacks)
            {
                if (!known.Contains(fallback))
                {
                    errors.Add($"Gateway:Models:{model.Id}:Fallbacks: '{fallback}' is not in Gateway:Models.");
                }
                else if (options.Models[fallback].Kind != model.Kind)
                {
                    errors.Add($"Gateway:Models:{model.Id}:Fallbacks: '{fallback}' is a {options.Models[fallback].Kind} model; a {model.Kind} model falls back to {model.Kind} models only.");
                }
                else if (fallback == model.Id)
                {
                    errors.Add($"Gateway:Models:{model.Id}:Fallbacks: '{model.Id}' cannot fall back to itself.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial System.Text.RegularExpressions.Regex ModelId();

    private static void Collect(object instance, string path, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => $"{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }
    }
}
