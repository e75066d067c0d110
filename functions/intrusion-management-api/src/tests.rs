//! The Intrusion Management API called as the load balancer would, over the
//! in-memory adapters, with tokens of a test identity provider: tenants kept
//! apart, the confirmation budget's 429, and the link page's refusals.

use axum::http::StatusCode;
use seccom_domain::auth::Principal;
use seccom_domain::clock::SystemClock;
use seccom_domain::destinations::Destinations;
use seccom_domain::directory::ClientBody;
use seccom_domain::directory::Directory;
use seccom_domain::memory::{
    MemoryControls, MemoryDetectionStore, MemoryDirectory, MemoryExports, MemoryLinks, MemoryNotificationQueue,
    MemoryPush, MemoryResponses, MemoryRetention,
};
use seccom_domain::response::ConfirmationSender;
use seccom_domain::retention::RetentionBounds;
use seccom_domain::wiring::Ports;
use seccom_http::testing::{self, Answer, TestIssuer};
use serde_json::{Value, json};

use super::*;

struct World {
    app: Router,
    issuer: TestIssuer,
    directory: Directory,
}

fn world() -> World {
    let directory = Directory::new(Arc::new(MemoryDirectory::default()));
    let issuer = TestIssuer::new();
    let ports = Ports {
        directory: directory.clone(),
        controls: Arc::new(MemoryControls::default()),
        detection: Arc::new(MemoryDetectionStore::default()),
        responses: Arc::new(MemoryResponses::default()),
        retention: Arc::new(MemoryRetention::default()),
        links: Arc::new(MemoryLinks),
        writer: Arc::new(MemoryExports::default()),
        push: WebPush::new(
            Arc::new(MemoryPush::default()),
            Destinations::default(),
            Arc::new(SystemClock),
        ),
        confirmations: Some(ConfirmationSender {
            queue: Arc::new(MemoryNotificationQueue::default()),
            base_url: "https://seccom.example.com".into(),
        }),
        destinations: Destinations::default(),
        bounds: RetentionBounds::default(),
    };
    let authenticator = issuer.authenticator().with_sessions(Arc::new(directory.clone()));
    World {
        app: router_with(AppState::new(UseCases::new(ports), authenticator)),
        issuer,
        directory,
    }
}

impl World {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        testing::call(&self.app, method, path, token, body).await
    }

    async fn client(&self, name: &str) -> String {
        let staff = Principal::from_claims("staff".into(), &["admin".into()], None).unwrap();
        let body = ClientBody {
            name: name.into(),
            email: "ops@acme.example".into(),
            phone: None,
        };
        self.directory.create_client(&staff, body).await.unwrap().id.to_string()
    }
}

fn phones(first: usize, count: usize) -> Value {
    (first..first + count)
        .map(|i| json!({ "role": "client", "channel": "sms", "address": format!("+4420794612{i:02}") }))
        .collect()
}

#[tokio::test]
async fn a_clients_user_reads_its_own_records_and_never_anothers() {
    let w = world();
    let (acme, other) = (w.client("Acme").await, w.client("Other").await);
    let user = w.issuer.client_user(acme.parse().unwrap());
    let own = w.call("GET", "/api/intrusions", Some(&user), None).await;
    assert_eq!((own.status, &own.body["items"]), (StatusCode::OK, &json!([])));
    let theirs = format!("/api/clients/{other}/notification-preferences");
    assert_eq!(
        w.call("GET", &theirs, Some(&user), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.call("GET", "/api/intrusions", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn past_the_daily_confirmation_budget_a_save_is_refused_with_retry_after() {
    let w = world();
    let acme = w.client("Acme").await;
    let user = w.issuer.client_user(acme.parse().unwrap());
    let path = format!("/api/clients/{acme}/notification-preferences");
    for recipients in [phones(0, 20), json!([]), phones(20, 20), json!([])] {
        let saved = w
            .call("PUT", &path, Some(&user), Some(json!({ "recipients": recipients })))
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let refused = w
        .call("PUT", &path, Some(&user), Some(json!({ "recipients": phones(40, 1) })))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert_eq!(refused.header("content-type"), Some("application/problem+json"));
    let seconds: u64 = refused.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=86_400).contains(&seconds));
}

#[tokio::test]
async fn a_confirmation_link_confirms_only_by_its_button_and_only_if_it_is_one() {
    let w = world();
    let shaped = w
        .call("GET", "/api/recipient-confirmations/well-shaped-token", None, None)
        .await;
    assert_eq!(shaped.status, StatusCode::OK, "opening a link only shows its button");
    let malformed = w
        .call("GET", "/api/recipient-confirmations/not%21a%21token", None, None)
        .await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    assert!(
        malformed
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let unknown = w
        .call("POST", "/api/recipient-confirmations/well-shaped-token", None, None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "no such link");
    let long = format!("/api/recipient-confirmations/{}", "x".repeat(200));
    assert_eq!(w.call("POST", &long, None, None).await.status, StatusCode::NOT_FOUND);
}
