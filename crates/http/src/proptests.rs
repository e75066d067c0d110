//! Property tests of caller verification: any bearer token or ALB user-claims
//! header is refused with a clean error, never a panic.

use proptest::prelude::*;

/// One authenticator (whose key endpoints answer nothing) and runtime for every case.
fn verifier() -> &'static (tokio::runtime::Runtime, crate::auth::Authenticator) {
    static VERIFIER: std::sync::OnceLock<(tokio::runtime::Runtime, crate::auth::Authenticator)> =
        std::sync::OnceLock::new();
    VERIFIER.get_or_init(|| {
        let authenticator = crate::auth::Authenticator::new(crate::auth::AuthSettings {
            issuer: "https://issuer.invalid".into(),
            client_id: "client".into(),
            jwks_url: "http://127.0.0.1:9/jwks.json".into(),
            alb: Some(crate::auth::AlbSettings {
                load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/x/1".into(),
                public_keys_url: "http://127.0.0.1:9".into(),
            }),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (runtime, authenticator)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn bearer_tokens_and_alb_claims_are_refused_without_panicking(token in any::<String>(), data in any::<String>()) {
        let (runtime, authenticator) = verifier();
        for (name, value) in [("authorization", format!("Bearer {token}")), ("x-amzn-oidc-data", data)] {
            let mut headers = http::HeaderMap::new();
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
                prop_assert!(runtime.block_on(authenticator.authenticate(&headers)).is_err());
            }
        }
    }
}
