//! Every way authentication can fail answers 401 (or 403 for a user without a
//! role), and the ALB's signed user claims are trusted only when genuine.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use reqwest::Method;
use seccom_local::LOAD_BALANCER_ARN;
use seccom_local::idp::{LocalIdp, LocalUser};
use seccom_system_tests::TestStack;
use serde_json::{Value, json};

async fn answer_with(stack: &TestStack, authorization: &str) -> seccom_system_tests::Answer {
    stack
        .send(
            stack
                .request(Method::GET, "/api/clients")
                .header("authorization", authorization),
        )
        .await
}

fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_unauthorised() {
    let stack = TestStack::start().await;
    let missing = stack.call(Method::GET, "/api/clients", None, None).await;
    missing.assert_problem(401);
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
    for authorization in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer not.a.token",
        "Bearer a.b.c",
        &stack.admin(),
    ] {
        answer_with(&stack, authorization).await.assert_problem(401);
    }
}

#[tokio::test]
async fn tokens_that_are_forged_expired_or_meant_for_others_are_refused() {
    let stack = TestStack::start().await;
    let admin = LocalUser::admin();
    let valid = stack.idp.claims(&admin, "id");
    answer_with(&stack, &format!("Bearer {}", stack.idp.sign(&valid)))
        .await
        .expect(200);

    let mut near_misses = Vec::new();
    for (claim, value) in [
        ("iss", json!("https://evil.example")),
        ("aud", json!("another-app")),
        ("exp", json!(chrono::Utc::now().timestamp() - 3600)),
        ("token_use", json!("access")),
    ] {
        let mut claims = valid.clone();
        claims[claim] = value;
        near_misses.push((claim, stack.idp.sign(&claims)));
    }
    let mut no_expiry = valid.clone();
    no_expiry.as_object_mut().unwrap().remove("exp");
    near_misses.push(("no exp", stack.idp.sign(&no_expiry)));
    let mut no_audience = valid.clone();
    no_audience.as_object_mut().unwrap().remove("aud");
    near_misses.push(("no aud", stack.idp.sign(&no_audience)));
    let mut not_yet = valid.clone();
    not_yet["nbf"] = json!(chrono::Utc::now().timestamp() + 3600);
    near_misses.push(("nbf an hour ahead", stack.idp.sign(&not_yet)));

    let client_token = stack
        .idp
        .id_token(&LocalUser::client(uuid::Uuid::new_v4().to_string().parse().unwrap()));
    let [header, _, signature]: [&str; 3] = client_token.split('.').collect::<Vec<_>>().try_into().unwrap();
    near_misses.push((
        "payload escalated to admin",
        format!("{header}.{}.{signature}", part(&valid)),
    ));

    let kid = stack.idp.jwks()["keys"][0]["kid"].as_str().unwrap().to_owned();
    near_misses.push((
        "alg none",
        format!("{}.{}.", part(&json!({ "alg": "none", "kid": kid })), part(&valid)),
    ));
    let hs256 = format!("{}.{}", part(&json!({ "alg": "HS256", "kid": kid })), part(&valid));
    near_misses.push(("alg HS256", format!("{hs256}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]))));

    let stranger = LocalIdp::open(tempfile::tempdir().unwrap().path()).unwrap();
    near_misses.push(("unknown key", stranger.sign(&valid)));

    for (what, token) in near_misses {
        let answer = answer_with(&stack, &format!("Bearer {token}")).await;
        assert_eq!(answer.status.as_u16(), 401, "{what} was not refused: {:?}", answer.body);
        answer.assert_problem(401);
        let detail = answer.body["detail"].as_str().unwrap_or_default();
        for internal in ["Json", "Base64", "InvalidToken", "Error(", "line "] {
            assert!(
                !detail.contains(internal),
                "{what}: the answer shows parser internals: {detail}"
            );
        }
    }
}

#[tokio::test]
async fn authenticated_users_without_a_role_are_forbidden() {
    let stack = TestStack::start().await;
    let mut no_group = stack.idp.claims(&LocalUser::admin(), "id");
    no_group["cognito:groups"] = json!([]);
    answer_with(&stack, &format!("Bearer {}", stack.idp.sign(&no_group)))
        .await
        .assert_problem(403);
    let mut client_without_tenant = stack.idp.claims(&LocalUser::admin(), "id");
    client_without_tenant["cognito:groups"] = json!(["client"]);
    answer_with(&stack, &format!("Bearer {}", stack.idp.sign(&client_without_tenant)))
        .await
        .assert_problem(403);
}

#[tokio::test]
async fn alb_user_claims_are_trusted_only_when_signed_by_our_load_balancer() {
    let stack = TestStack::start().await;
    let tenant = stack.create_client("Alpha").await;
    let user = LocalUser::client(tenant.parse().unwrap());
    let access = stack.idp.sign(&stack.idp.claims(&user, "access"));
    let via_alb = |data: String, access: Option<String>| {
        let mut request = stack
            .request(Method::GET, "/api/clients")
            .header("x-amzn-oidc-data", data);
        if let Some(access) = access {
            request = request.header("x-amzn-oidc-accesstoken", access);
        }
        stack.send(request)
    };

    let genuine = stack.idp.alb_user_claims(&user, LOAD_BALANCER_ARN);
    assert!(genuine.contains("="), "ALB tokens carry base64 padding");
    let listed = via_alb(genuine.clone(), Some(access.clone())).await.expect(200);
    assert_eq!(listed["items"][0]["id"], tenant.as_str());

    via_alb(genuine.clone(), None).await.assert_problem(401);
    let other_lb = stack.idp.alb_user_claims(
        &user,
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/evil/1",
    );
    via_alb(other_lb, Some(access.clone())).await.assert_problem(401);

    let parts: Vec<&str> = genuine.split('.').collect();
    let other_tenant = json!({ "sub": user.subject, "custom:client_id": uuid::Uuid::new_v4().to_string() });
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE.encode(other_tenant.to_string()),
        parts[2]
    );
    via_alb(tampered, Some(access.clone())).await.assert_problem(401);

    let someone_else = stack.idp.sign(&stack.idp.claims(&LocalUser::admin(), "access"));
    via_alb(genuine, Some(someone_else)).await.assert_problem(401);
}
