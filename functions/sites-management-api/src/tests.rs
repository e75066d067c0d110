//! The Sites Management API called as the load balancer would, over the
//! in-memory adapters, with tokens of a test identity provider: who may
//! create and read, and the problem each refusal answers.

use axum::http::StatusCode;
use seccom_domain::memory::{MemoryControls, MemoryDirectory, MemoryErasureQueue, MemoryRetention};
use seccom_domain::retention::RetentionBounds;
use seccom_http::testing::{self, TestIssuer};
use serde_json::{Value, json};

use super::*;

struct World {
    app: Router,
    issuer: TestIssuer,
}

fn world() -> World {
    let directory = Directory::new(Arc::new(MemoryDirectory::default()));
    let retention = Arc::new(MemoryRetention::default());
    let issuer = TestIssuer::new();
    let state = AppState::new(
        directory.clone(),
        SiteControls::new(
            directory.clone(),
            Arc::new(MemoryControls::default()),
            Arc::new(SystemClock),
        ),
        RetentionPeriods::new(directory.clone(), retention.clone(), RetentionBounds::default()),
        ErasureRequests::new(directory.clone(), retention, Arc::new(MemoryErasureQueue::default())),
        issuer.authenticator().with_sessions(Arc::new(directory)),
    );
    World {
        app: router(state),
        issuer,
    }
}

impl World {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let answer = testing::call(&self.app, method, path, token, body).await;
        (answer.status, answer.body)
    }

    async fn client(&self, name: &str) -> String {
        let body = json!({ "name": name, "email": "ops@acme.example" });
        let (status, client) = self
            .call("POST", "/api/clients", Some(&self.issuer.staff()), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{client}");
        client["id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn staff_create_a_client_and_its_users_read_it() {
    let w = world();
    let id = w.client("Acme").await;
    let user = w.issuer.client_user(id.parse().unwrap());
    let (status, client) = w.call("GET", &format!("/api/clients/{id}"), Some(&user), None).await;
    assert_eq!((status, client["name"].as_str()), (StatusCode::OK, Some("Acme")));
}

#[tokio::test]
async fn a_clients_user_changes_nothing_and_never_sees_another_client() {
    let w = world();
    let (acme, other) = (w.client("Acme").await, w.client("Other").await);
    let user = w.issuer.client_user(acme.parse().unwrap());
    let body = json!({ "name": "Mine", "email": "me@example.com" });
    let (status, problem) = w.call("POST", "/api/clients", Some(&user), Some(body)).await;
    assert_eq!((status, problem["status"].as_u64()), (StatusCode::FORBIDDEN, Some(403)));
    let (status, _) = w.call("GET", &format!("/api/clients/{other}"), Some(&user), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's client is not found");
}

#[tokio::test]
async fn bad_callers_and_bad_input_get_problems() {
    let w = world();
    let (status, problem) = w.call("GET", "/api/clients", None, None).await;
    assert_eq!(
        (status, problem["status"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    let (status, _) = w.call("GET", "/api/clients", Some("not.a.token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = json!({ "name": "", "email": "not an address" });
    let (status, problem) = w
        .call("POST", "/api/clients", Some(&w.issuer.staff()), Some(body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: Vec<&str> = problem["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(named.contains(&"name") && named.contains(&"email"), "{problem}");
    let (status, _) = w.call("GET", "/api/nowhere", Some(&w.issuer.staff()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
