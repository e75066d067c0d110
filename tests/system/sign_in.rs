//! The local stand-in for the ALB's Cognito sign-in: its form is protected
//! like the portals' (CSRF token, security headers) and returns only to paths
//! of this site.

use seccom_system_tests::TestStack;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
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
    let cookie = header("set-cookie");
    let csrf_cookie = cookie.split(';').next().unwrap().to_owned();
    let body = page.text().await.unwrap();
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        body.contains("value=\"/\""),
        "the crafted return path is replaced: {body}"
    );

    let forged = http
        .post(stack.url("/oauth2/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("account", "admin"), ("redirect", "/manage")]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a form without its token is refused");

    for (crafted, expected) in [
        ("/\t/evil.example", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("/manage", "/manage"),
    ] {
        let signed_in = http
            .post(stack.url("/oauth2/sign-in"))
            .header("cookie", &csrf_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([("account", "admin"), ("redirect", crafted), ("csrf", token.as_str())])
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303, "{crafted:?}");
        assert_eq!(signed_in.headers()["location"], expected, "{crafted:?}");
    }
}

/// Signs in through the stand-in as `account`; answers the session cookie (`name=value`).
async fn session_of(stack: &TestStack, http: &reqwest::Client, account: &str) -> String {
    let page = http.get(stack.url("/oauth2/sign-in")).send().await.unwrap();
    let csrf_cookie = page.headers()["set-cookie"]
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
    let signed_in = http
        .post(stack.url("/oauth2/sign-in"))
        .header("cookie", &csrf_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([("account", account), ("redirect", "/manage"), ("csrf", token.as_str())])
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_session_ends_with_its_sign_out_even_when_its_cookie_is_replayed() {
    let stack = TestStack::start().await;
    let http = client();
    let session = session_of(&stack, &http, "admin").await;
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
}
