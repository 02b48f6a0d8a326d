using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ai.Gateway.Model;

/// <summary>Checks each model's fields and the rules across models: unique ids, known fallbacks, a known default.</summary>
public sealed class ModelCatalogOptionsValidator : IValidateOptions<ModelCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCatalogOptions options)
    {
        var errors = new List<string>();
        Collect(options, $"{ModelCatalogOptions.SectionName}", errors);

        for (var i = 0; i < options.Models.Count; i++)
        {
            Collect(options.Models[i], $"{ModelCatalogOptions.SectionName}:Models:{i}", errors);
        }

        var ids = options.Models.Select(m => m.Id).ToList();
        foreach (var duplicate in ids.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"Gateway:Models: the id '{duplicate.Key}' is used more than once.");
        }

        var known = ids.ToHashSet(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(options.DefaultModel) && !known.Contains(options.DefaultModel))
        {
            errors.Add($"Gateway:DefaultModel '{options.DefaultModel}' is not in Gateway:Models.");
        }

        for (var i = 0; i < options.Models.Count; i++)
        {
            var model = options.Models[i];
            foreach (var fallback in model.Fallbacks)
            {
                if (!known.Contains(fallback))
                {
                    errors.Add($"Gateway:Models:{i}:Fallbacks: '{fallback}' is not in Gateway:Models.");
                }
                else if (fallback == model.Id)
                {
                    errors.Add($"Gateway:Models:{i}:Fallbacks: '{model.Id}' cannot fall back to itself.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Collect(object instance, string path, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => $"{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }
    }
}
