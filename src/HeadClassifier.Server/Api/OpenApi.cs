using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace HeadClassifier.Server.Api;

/// <summary>Marks the endpoints that change state: they need the API key (see <see cref="ApiKey"/>).</summary>
public sealed class ApiKeyRequired;

/// <summary>
/// The OpenAPI document (/api/openapi/v1.json) and its interactive page (/api/docs): schemas named after our view
/// records (a nested one with its parent's name), and the API key as a header scheme on the endpoints that need it.
/// </summary>
public static class OpenApiSetup
{
    public const string DocumentRoute = "api/openapi/{documentName}.json", DocumentUrl = "/api/openapi/v1.json", UiPrefix = "api/docs";

    private const string KeyScheme = "apiKey";

    public static void AddOpenApiDocument(this IServiceCollection services) => services.AddSwaggerGen(o =>
    {
        o.SwaggerDoc("v1", new()
        {
            Title = "HeadClassifier",
            Version = "v1",
            Description = "Classify attention heads by their static (MAPS) scores: models, jobs, results, figures, watches. Reads are open; calls that change state need the API key.",
        });
        o.CustomSchemaIds(SchemaId);
        o.AddSecurityDefinition(KeyScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKey.Header,
            Description = "The server's API key (printed on first start, stored in <data>/api-key).",
        });
        o.OperationFilter<KeyRequirement>();
    });

    public static void UseOpenApiDocument(this WebApplication app)
    {
        app.UseSwagger(o => o.RouteTemplate = DocumentRoute);
        app.UseSwaggerUI(o =>
        {
            o.RoutePrefix = UiPrefix;
            o.SwaggerEndpoint(DocumentUrl, "HeadClassifier v1");
            o.DocumentTitle = "HeadClassifier API";
        });
    }

    /// <summary>"JobView", "EvidenceViewOperation": readable and unique (several views nest an Operation).</summary>
    private static string SchemaId(Type t) =>
        (t.DeclaringType is { } parent ? SchemaId(parent) : "") + (t.IsGenericType ? t.Name[..t.Name.IndexOf('`')] + string.Concat(t.GetGenericArguments().Select(SchemaId)) : t.Name);

    private sealed class KeyRequirement : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<ApiKeyRequired>().Any()) return;
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(KeyScheme, context.Document)] = [] }];
        }
    }
}
