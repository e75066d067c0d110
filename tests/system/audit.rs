//! The audit trail through the local stack: each audited action of staff and
//! client users appears once, with who did it and from which address; a
//! client reads only its own client's entries; nothing can change them.

use reqwest::Method;
use seccom_system_tests::TestStack;
use serde_json::{Value, json};

fn actions(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn audited_actions_appear_once_with_their_actor_and_only_to_their_client() {
    let stack = TestStack::start().await;
    let admin = stack.admin();
    let client = stack.create_client("Audited Ltd").await;
    let other = stack.create_client("Elsewhere Ltd").await;
    let site = stack.create_site(&client, "Depot").await;
    let camera = stack.create_device(&site, "cameras", "Gate").await;
    let intrusion = stack.person_seen(&camera).await.id.to_string();
    let user = stack.client_user(&client);
    stack
        .call(Method::GET, &format!("/api/intrusions/{intrusion}"), Some(&user), None)
        .await
        .expect(200);
    stack
        .call(
            Method::POST,
            &format!("/api/intrusions/{intrusion}/acknowledge"),
            Some(&user),
            Some(json!({ "note": "on it" })),
        )
        .await
        .expect(200);
    stack
        .call(
            Method::PUT,
            &format!("/api/clients/{client}/retention"),
            Some(&admin),
            Some(json!({ "days": 30 })),
        )
        .await
        .expect(200);

    let own = stack
        .call(Method::GET, "/api/audit", Some(&user), None)
        .await
        .expect(200);
    assert_eq!(
        actions(&own),
        [
            "changedRetention",
            "acknowledgedIntrusion",
            "viewedIntrusion",
            "registeredDevice"
        ],
        "newest first, each once"
    );
    let viewed = &own["items"][2];
    assert_eq!(viewed["target"], format!("intrusion/{intrusion}"));
    assert_eq!(viewed["address"], "127.0.0.1", "the address the load balancer saw");
    assert!(viewed["actor"].as_str().is_some_and(|a| !a.is_empty()));
    // Found from outside: a client's users read staff members' e-mails and addresses here.
    let by_seccom = &own["items"][0];
    assert_eq!(
        (
            &by_seccom["actor"],
            &by_seccom["actorEmail"],
            &by_seccom["address"],
            &by_seccom["byStaff"]
        ),
        (&json!("SecCom staff"), &Value::Null, &Value::Null, &json!(true)),
        "{by_seccom}"
    );
    let staff_view = stack
        .call(
            Method::GET,
            &format!("/api/audit?clientId={client}"),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert_eq!(staff_view["items"][0]["actorEmail"], "admin@seccom.local");

    let theirs = stack.client_user(&other);
    let none = stack
        .call(Method::GET, "/api/audit", Some(&theirs), None)
        .await
        .expect(200);
    assert!(actions(&none).is_empty(), "another client's entries");
    stack
        .call(
            Method::GET,
            &format!("/api/audit?clientId={client}"),
            Some(&theirs),
            None,
        )
        .await
        .assert_problem(404);
    let by_staff = stack
        .call(Method::GET, "/api/audit?actor=admin@seccom.local", Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(actions(&by_staff), ["changedRetention", "registeredDevice"]);
    stack
        .call(
            Method::GET,
            "/api/audit?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
            Some(&admin),
            None,
        )
        .await
        .assert_problem(400);
    // A page's token read with a period that leaves out where it stopped is refused, not a failure.
    let first = stack
        .call(Method::GET, "/api/audit?limit=1", Some(&user), None)
        .await
        .expect(200);
    let token = first["nextToken"].as_str().expect("more than one page");
    let later = format!("/api/audit?limit=1&from=2999-01-01T00:00:00Z&nextToken={token}");
    stack
        .call(Method::GET, &later, Some(&user), None)
        .await
        .assert_problem(400);
    let next = format!("/api/audit?limit=1&nextToken={token}");
    let second = stack.call(Method::GET, &next, Some(&user), None).await.expect(200);
    assert_eq!(actions(&second), ["acknowledgedIntrusion"]);
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let answer = stack
            .call(method.clone(), "/api/audit", Some(&admin), Some(json!({})))
            .await;
        assert_eq!(answer.status.as_u16(), 405, "{method}: entries cannot be changed");
    }
}
