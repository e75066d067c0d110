//! Verifying callers: Cognito ID and access tokens (JWKS, RS256/ES256, issuer,
//! audience, expiry, not-before, use) and the ALB's signed user claims, into the
//! domain's [`Principal`](seccom_domain::auth::Principal).

mod alb;
mod keys;
mod verifier;

pub use verifier::{AlbSettings, AuthError, AuthSettings, Authenticator};

use seccom_domain::config::{
    ALB_ARN, ALB_PUBLIC_KEYS_URL, AUTH_CLIENT_ID, AUTH_ISSUER, AUTH_JWKS_URL, Config, MissingSetting,
};

/// How callers are authenticated, from a function's settings.
pub fn settings(config: &Config) -> Result<AuthSettings, MissingSetting> {
    let issuer = config.required(AUTH_ISSUER)?.trim_end_matches('/').to_owned();
    let jwks_url = config
        .optional(AUTH_JWKS_URL)
        .map_or_else(|| format!("{issuer}/.well-known/jwks.json"), str::to_owned);
    let alb = match config.optional(ALB_ARN) {
        Some(arn) => Some(AlbSettings {
            load_balancer_arn: arn.to_owned(),
            public_keys_url: match config.optional(ALB_PUBLIC_KEYS_URL) {
                Some(url) => url.to_owned(),
                None => format!(
                    "https://public-keys.auth.elb.{}.amazonaws.com",
                    config.required("AWS_REGION")?
                ),
            },
        }),
        None => None,
    };
    Ok(AuthSettings {
        issuer,
        client_id: config.required(AUTH_CLIENT_ID)?.to_owned(),
        jwks_url,
        alb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use seccom_domain::config::{ALB_ARN, AUTH_CLIENT_ID, AUTH_ISSUER};

    fn settings_of(pairs: &[(&str, &str)]) -> Result<AuthSettings, MissingSetting> {
        settings(&Config::from_pairs(
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        ))
    }

    #[test]
    fn auth_settings_default_to_cognito_and_elb_endpoints() {
        let settings = settings_of(&[
            (
                AUTH_ISSUER,
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/",
            ),
            (AUTH_CLIENT_ID, "app"),
            (ALB_ARN, "arn:alb"),
            ("AWS_REGION", "eu-west-1"),
        ])
        .unwrap();
        assert_eq!(
            settings.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
        );
        assert_eq!(
            settings.alb.unwrap().public_keys_url,
            "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn missing_settings_are_named() {
        let error = settings_of(&[(AUTH_ISSUER, "x")]).unwrap_err();
        assert!(error.to_string().contains(AUTH_CLIENT_ID));
    }
}
