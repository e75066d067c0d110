//! The local stand-in for the ALB's Cognito sign-in: its form is protected
//! like the portals' (CSRF token, security headers) and returns only to paths
//! of this site; and a portal sign-out ends the session even when its cookie is
//! replayed.

use reqwest::Method;
use seccom_system_tests::TestStack;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The sign-in form's CSRF cookie (`name=value`), its token, and the page.
async fn form_of(page: reqwest::Response) -> (String, String, String) {
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = page.text().await.unwrap();
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, token, body)
}

/// Posts the sign-in form with the CSRF cookie given.
async fn post(
    stack: &TestStack,
    http: &reqwest::Client,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http
        .post(stack.url("/oauth2/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).unwrap());
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_sign_in_form_needs_its_token_and_returns_only_to_local_paths() {
    let stack = TestStack::start().await;
    let http = client();
    let page = http
        .get(stack.url("/oauth2/sign-in?redirect=/%09/evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    let (csrf_cookie, token, body) = form_of(page).await;
    assert!(
        body.contains("value=\"/\""),
        "the crafted return path is replaced: {body}"
    );

    let forged = post(&stack, &http, None, &[("account", "admin"), ("redirect", "/manage")]).await;
    assert_eq!(forged.status(), 403, "a form without its token is refused");

    for (crafted, expected) in [
        ("/\t/evil.example", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("/manage", "/manage"),
    ] {
        let fields = [("account", "admin"), ("redirect", crafted), ("csrf", token.as_str())];
        let signed_in = post(&stack, &http, Some(&csrf_cookie), &fields).await;
        assert_eq!(signed_in.status(), 303, "{crafted:?}");
        assert_eq!(signed_in.headers()["location"], expected, "{crafted:?}");
    }
}

#[tokio::test]
async fn a_session_ends_with_its_sign_out_even_when_its_cookie_is_replayed() {
    let stack = TestStack::start().await;
    let http = client();
    let bearer = stack.admin();
    stack
        .call(Method::GET, "/api/clients", Some(&bearer), None)
        .await
        .expect(200);
    let page = http.get(stack.url("/oauth2/sign-in")).send().await.unwrap();
    let (csrf_cookie, token, _) = form_of(page).await;
    let fields = [("account", "admin"), ("redirect", "/manage"), ("csrf", token.as_str())];
    let signed_in = post(&stack, &http, Some(&csrf_cookie), &fields).await;
    let session = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = http
        .get(stack.url("/manage"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Sign out at the portal, without following it to the identity provider (whose
    // logout, in AWS, leaves the load balancer's session cookie valid).
    let out = http
        .get(stack.url("/manage/signout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection(), "{}", out.status());
    let replayed = http
        .get(stack.url("/manage"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 401, "the old session is refused");
    assert!(replayed.text().await.unwrap().contains("You signed out"));

    // Found from outside: the same user's bearer tokens kept working on the APIs.
    for path in ["/api/clients", "/api/intrusions"] {
        stack
            .call(Method::GET, path, Some(&bearer), None)
            .await
            .assert_problem(401);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = stack.admin();
    stack
        .call(Method::GET, "/api/intrusions", Some(&fresh), None)
        .await
        .expect(200);
}
