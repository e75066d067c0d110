//! What every API's OpenAPI description shares: its security scheme, the
//! problem answers common to all operations, so handlers document only their
//! own, and links from each create to what can be done with what it created.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::{ApiError, PROBLEM_JSON};

/// Who calls an API, for its security scheme.
#[derive(Clone, Copy, Debug)]
pub enum Callers {
    /// People, with Cognito ID tokens (or the ALB's signed claims).
    Users,
    /// Cameras and alarms, with their device credential.
    Devices,
}

/// Adds the security scheme and the shared problem answers to a generated description.
pub fn complete(document: &mut OpenApi, callers: Callers) {
    let (name, format, description) = match callers {
        Callers::Users => (
            "cognito",
            "JWT",
            "A Cognito ID token of a user in the `admin` or `client` group. Behind an ALB listener rule that \
             authenticates users, the ALB's signed `x-amzn-oidc-data` is accepted instead.",
        ),
        Callers::Devices => (
            "device",
            "sck_<device id>_<secret>",
            "The credential issued once when the camera or alarm was registered.",
        ),
    };
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        name,
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format(format)
                .description(Some(description))
                .build(),
        ),
    );
    components
        .schemas
        .entry(ApiError::name().into_owned())
        .or_insert_with(ApiError::schema);
    // The problem document's invalidParams items.
    components
        .schemas
        .entry(seccom_domain::values::FieldError::name().into_owned())
        .or_insert_with(seccom_domain::values::FieldError::schema);
    document.security = Some(vec![SecurityRequirement::new(name, Vec::<String>::new())]);
    for (path, item) in document.paths.paths.iter_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_problems(path, operation, callers);
        }
    }
    link_creates(document);
}

/// Links each create (a `POST` answering 201 with the new resource) to the
/// operations on `{path}/{xId}` and below, passing the new `id`, so a client or
/// a stateful fuzzer can chain them. `…/erase` is left out: it removes the
/// resource as a `DELETE` does, but nothing in the document says so, and a
/// chain that went on to use what was erased would read it as lost.
fn link_creates(document: &mut OpenApi) {
    let targets: Vec<(String, Vec<&'static str>)> = document
        .paths
        .paths
        .iter()
        .map(|(path, item)| (path.clone(), methods(item)))
        .collect();
    for (path, item) in document.paths.paths.iter_mut() {
        let Some(RefOr::T(created)) = item
            .post
            .as_mut()
            .and_then(|post| post.responses.responses.get_mut("201"))
        else {
            continue;
        };
        for (target, methods) in &targets {
            let Some((parameter, rest)) = target
                .strip_prefix(path.as_str())
                .and_then(|below| below.strip_prefix("/{"))
                .and_then(|below| below.split_once('}'))
            else {
                continue;
            };
            if rest.contains('{') || rest.ends_with("/erase") {
                continue;
            }
            let pointer = target.replace('~', "~0").replace('/', "~1");
            for method in methods {
                let name = format!("{method}{}", rest.replace('/', "_"));
                let link = LinkBuilder::new()
                    .operation_ref(format!("#/paths/{pointer}/{method}"))
                    .parameter(parameter, "$response.body#/id")
                    .build();
                created.links.insert(name, link.into());
            }
        }
    }
}

/// The `Retry-After` header of a 429: whole seconds.
fn retry_after_header() -> Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))))
        .description(Some("Seconds until the caller may try again"))
        .build()
}

fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("get", item.get.is_some()),
        ("put", item.put.is_some()),
        ("post", item.post.is_some()),
        ("patch", item.patch.is_some()),
        ("delete", item.delete.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
    .collect()
}

fn add_problems(path: &str, operation: &mut Operation, callers: Callers) {
    let mut problems = vec![
        ("401", "Missing, invalid or expired credentials"),
        ("403", "The caller may not do this"),
        ("503", "A dependency is unavailable; retry"),
    ];
    if matches!(callers, Callers::Devices) {
        problems.push((
            "429",
            "Too many failed credentials from this address or for this device, or more upload URLs than a camera \
             films; retry after the seconds in `Retry-After`",
        ));
    }
    let names_a_resource_in_its_query = operation.parameters.iter().flatten().any(|parameter| {
        matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query && parameter.name.ends_with("Id"))
    });
    if path.contains('{') || names_a_resource_in_its_query {
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
                let problem = || {
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiError")))
                        .build()
                };
                let mut response = ResponseBuilder::new()
                    .description(description)
                    .content(PROBLEM_JSON, problem());
                if status == "429" {
                    response = response.header("Retry-After", retry_after_header());
                }
                if status == "404" {
                    // A path no listener rule routes gets the load balancer's own
                    // fixed response, and an ALB fixed response cannot be
                    // `application/problem+json`: same document, plain JSON type.
                    response = response.content("application/json", problem());
                }
                response.build().into()
            });
    }
}
