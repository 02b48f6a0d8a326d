using Ai.Gateway.Model;

namespace Ai.Gateway.Tests.Model;

public sealed class ModelCatalogOptionsValidatorTests
{
    private static ModelDefinition Model(string id, params string[] fallbacks) => new()
    {
        Id = id, Provider = "gemini", Qps = 1, Burst = 1, Fallbacks = [.. fallbacks],
    };

    private static ModelCatalogOptions Catalog(string defaultModel, params ModelDefinition[] models)
    {
        var catalog = new ModelCatalogOptions { DefaultModel = defaultModel };
        foreach (var model in models)
        {
            catalog.Models[model.Id] = model;
        }

        return catalog;
    }

    [Fact]
    public void A_consistent_catalog_is_valid()
    {
        var result = new ModelCatalogOptionsValidator().Validate(null, Catalog("a", Model("a", "b"), Model("b")));

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void An_unknown_default_model_is_rejected()
    {
        var result = new ModelCatalogOptionsValidator().Validate(null, Catalog("z", Model("a")));

        Assert.True(result.Failed);
        Assert.Contains("Gateway:DefaultModel 'z'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fallbacks_self_fallbacks_and_bad_ids_are_each_reported()
    {
        var result = new ModelCatalogOptionsValidator().Validate(null, Catalog("a", Model("a", "missing"), Model("b c"), Model("c", "c")));

        Assert.True(result.Failed);
        Assert.Contains("Gateway:Models:b c: a model id", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Gateway:Models:a:Fallbacks: 'missing' is not in Gateway:Models", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'c' cannot fall back to itself", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Field_rules_are_reported_with_their_path()
    {
        var bad = Model("a") with { Provider = "acme", Qps = 0 };

        var result = new ModelCatalogOptionsValidator().Validate(null, Catalog("a", bad));

        Assert.True(result.Failed);
        Assert.Contains("Gateway:Models:a:Provider", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Gateway:Models:a:Qps", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_catalog_is_rejected()
    {
        var result = new ModelCatalogOptionsValidator().Validate(null, Catalog("a"));

        Assert.True(result.Failed);
    }

    [Fact]
    public void Kinds_do_not_mix_in_fallbacks_or_defaults()
    {
        var embed = Model("embed", "chat-b") with { Kind = ModelKind.Embedding };
        var catalog = Catalog("embed", embed, Model("chat-b"));
        catalog.DefaultEmbeddingModel = "chat-b";

        var result = new ModelCatalogOptionsValidator().Validate(null, catalog);

        Assert.True(result.Failed);
        Assert.Contains("Gateway:DefaultModel 'embed' is an embedding model", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Gateway:DefaultEmbeddingModel 'chat-b' is a chat model", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Gateway:Models:embed:Fallbacks: 'chat-b' is a Chat model", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_embedding_default_of_the_embedding_kind_is_valid()
    {
        var catalog = Catalog("chat", Model("chat"), Model("embed", "embed-b") with { Kind = ModelKind.Embedding, Dimensions = 768 },
            Model("embed-b") with { Kind = ModelKind.Embedding });
        catalog.DefaultEmbeddingModel = "embed";

        var result = new ModelCatalogOptionsValidator().Validate(null, catalog);

        Assert.True(result.Succeeded, result.FailureMessage);
    }
}
