//! The OpenAPI description, generated from the routes themselves so it cannot
//! drift from them; a test keeps the published copy in `docs/api/` identical.

use seccom_domain::http::{ApiError, PROBLEM_JSON};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SecCom Sites Management API",
        description = "SecCom staff manage clients, their sites (buildings), cameras and alarms; \
                       client users read their own. Reached through the ALB on `/api/clients*`, \
                       `/api/sites*`, `/api/cameras*` and `/api/alarms*`. Every error is an RFC 9457 problem document.",
        version = "1.0.0"
    ),
    components(schemas(ApiError)),
    modifiers(&BearerAuth),
    tags(
        (name = "clients", description = "The security company's customers"),
        (name = "sites", description = "Clients' buildings"),
        (name = "devices", description = "Cameras and alarms installed at sites")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cognito",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Cognito ID token of a user in the `admin` or `client` group. Behind an ALB listener \
                 rule that authenticates users, the ALB's signed `x-amzn-oidc-data` is accepted instead.",
                    ))
                    .build(),
            ),
        );
        document.security = Some(vec![SecurityRequirement::new("cognito", Vec::<String>::new())]);
    }
}

/// The document the routes are registered into.
pub(crate) fn base() -> Document {
    ApiDoc::openapi()
}

/// The API's complete OpenAPI description.
pub fn openapi() -> Document {
    let (_, mut document) = crate::routes::router().split_for_parts();
    for (path, item) in document.paths.paths.iter_mut() {
        for operation in [&mut item.get, &mut item.post, &mut item.patch, &mut item.delete]
            .into_iter()
            .flatten()
        {
            add_problems(path, operation);
        }
    }
    document
}

/// Documents the problem answers every operation shares, so handlers list only their own.
fn add_problems(path: &str, operation: &mut Operation) {
    let mut problems = vec![
        ("401", "Missing, invalid or expired credentials"),
        ("403", "The caller's role does not allow this"),
        ("503", "A dependency is unavailable; retry"),
    ];
    if path.contains('{') {
        problems.push(("404", "No such resource, or it belongs to another tenant"));
    }
    let has_query = operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query));
    if has_query {
        problems.push(("400", "Invalid query parameters or nextToken"));
    }
    if operation.request_body.is_some() {
        problems.push(("400", "The body is not valid JSON"));
        problems.push(("413", "The body exceeds 1 MB"));
        problems.push(("415", "The body is not sent as application/json"));
        problems.push(("422", "Fields are missing, of the wrong type or invalid"));
    }
    for (status, description) in problems {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ApiError")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
}
