//! The OpenAPI description, generated from the routes themselves so it cannot
//! drift from them; a test keeps the published copy in `docs/api/` identical.

use seccom_http::openapi::{self, Callers};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
#[derive(OpenApi)]
#[openapi(
    info(
        title = "SecCom Sites Management API",
        description = "SecCom staff manage clients, their sites (buildings), cameras and alarms; \
                       client users read their own. Reached through the ALB on `/api/clients*`, \
                       `/api/sites*`, `/api/cameras*`, `/api/alarms*` and `/api/erasures*`. Every error is an RFC 9457 problem document.",
        version = "1.0.0"
    ),
    tags(
        (name = "clients", description = "The security company's customers"),
        (name = "sites", description = "Clients' buildings"),
        (name = "devices", description = "Cameras and alarms installed at sites"),
        (name = "arming", description = "When a site's detections count: armed, disarmed or on a weekly schedule"),
        (name = "detection", description = "Which people a camera counts: zones, masks, minimum score and size"),
        (name = "escalation", description = "Whom to tell, and when, if nobody acknowledges an intrusion at a site"),
        (name = "retention", description = "How long a client's footage and intrusion records are kept"),
        (name = "erasure", description = "Erasing a client, a site or a device with everything recorded of it")
    ),
    components(schemas(crate::routes::devices::Collection))
)]
struct ApiDoc;

/// The document the routes are registered into.
pub(crate) fn base() -> Document {
    ApiDoc::openapi()
}

/// The API's complete OpenAPI description.
pub fn openapi() -> Document {
    let (_, mut document) = crate::routes::router().split_for_parts();
    openapi::complete(&mut document, Callers::Users);
    document
}
