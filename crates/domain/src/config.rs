//! Function settings. In Lambda they come from environment variables set by
//! `template.yaml`; the local stack hands the same names over as a map, so the
//! parsing below is the one path both take.

use std::collections::HashMap;

/// The name of the DynamoDB table holding clients, sites and devices.
pub const DIRECTORY_TABLE: &str = "DIRECTORY_TABLE";
/// The DynamoDB table of frame results and per-camera decision state.
pub const FRAMES_TABLE: &str = "FRAMES_TABLE";
/// The DynamoDB table of the audit trail (the functions that take audited actions).
pub const AUDIT_TABLE: &str = "AUDIT_TABLE";
/// How many days audit entries are kept (default 400).
pub const AUDIT_RETENTION_DAYS: &str = "AUDIT_RETENTION_DAYS";
/// The DynamoDB table of intrusions.
pub const INTRUSIONS_TABLE: &str = "INTRUSIONS_TABLE";
/// Seconds without person frames after which a new burst is a new intrusion.
pub const QUIET_GAP_SECONDS: &str = "QUIET_GAP_SECONDS";
/// Hours a frame's result is kept before DynamoDB's TTL removes it.
pub const FRAME_RETENTION_HOURS: &str = "FRAME_RETENTION_HOURS";
/// `true` where S3 is reached through an endpoint that needs path-style addressing (the local emulator).
pub const S3_FORCE_PATH_STYLE: &str = "S3_FORCE_PATH_STYLE";
/// The table of alarm activations, clip requests, notifications and preferences.
pub const RESPONSES_TABLE: &str = "RESPONSES_TABLE";
/// The bucket camera frames and annotated snapshots are stored in.
pub const FRAMES_BUCKET: &str = "FRAMES_BUCKET";
/// Where a portal sends the browser to sign out at the identity provider.
pub const AUTH_LOGOUT_URL: &str = "AUTH_LOGOUT_URL";
/// The bucket intrusion clips are archived in.
pub const CLIPS_BUCKET: &str = "CLIPS_BUCKET";
/// How much recording before an intrusion's start a clip covers (default 180).
pub const CLIP_PRE_ROLL_SECONDS: &str = "CLIP_PRE_ROLL_SECONDS";
/// How much recording after an intrusion's start a clip covers (default 180).
pub const CLIP_POST_ROLL_SECONDS: &str = "CLIP_POST_ROLL_SECONDS";
/// How long after the post-roll a clip may take to arrive before it is reported missing (default 600).
pub const CLIP_GRACE_SECONDS: &str = "CLIP_GRACE_SECONDS";
/// Set only locally: metric records are appended to this file instead of the log.
pub const METRICS_FILE: &str = "METRICS_FILE";
/// Set only locally: e-mail and SMS are written to this folder instead of SES and SNS.
pub const OUTBOX_DIR: &str = "OUTBOX_DIR";
/// The SES identity e-mail notifications are sent from.
pub const NOTIFY_EMAIL_FROM: &str = "NOTIFY_EMAIL_FROM";
/// The site's public URL, which links sent to people start with (`https://seccom.example.com`).
pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
/// The URL of the queue notifications wait in (SQS).
pub const NOTIFICATION_QUEUE_URL: &str = "NOTIFICATION_QUEUE_URL";
/// The queue that hands erasure jobs to the data-protection function.
pub const ERASURE_QUEUE_URL: &str = "ERASURE_QUEUE_URL";
/// How long one push or webhook attempt may take, in milliseconds (default 5000).
pub const DELIVERY_TIMEOUT_MS: &str = "DELIVERY_TIMEOUT_MS";
/// The pause before the first retry of a push, webhook, e-mail or SMS, in
/// milliseconds; each later pause is four times longer (default 500).
pub const DELIVERY_BACKOFF_MS: &str = "DELIVERY_BACKOFF_MS";
/// How many attempts a push, webhook, e-mail or SMS gets (default 4).
pub const DELIVERY_ATTEMPTS: &str = "DELIVERY_ATTEMPTS";
/// The identity provider's issuer URL.
pub const AUTH_ISSUER: &str = "AUTH_ISSUER";
/// The identity provider's app client id.
pub const AUTH_CLIENT_ID: &str = "AUTH_CLIENT_ID";
/// Where the provider's JWKS lives, when not at `{issuer}/.well-known/jwks.json`.
pub const AUTH_JWKS_URL: &str = "AUTH_JWKS_URL";
/// The ARN of the ALB whose signed user claims are trusted; unset means none are.
pub const ALB_ARN: &str = "ALB_ARN";
/// Where the ALB's public keys are served, when not at the region's ELB key endpoint.
pub const ALB_PUBLIC_KEYS_URL: &str = "ALB_PUBLIC_KEYS_URL";

/// A missing or unusable setting: the function cannot start without it.
#[derive(Debug, thiserror::Error)]
#[error("setting {name} is missing, empty or malformed")]
pub struct MissingSetting {
    name: String,
}

/// Days of footage kept for a client nobody set a period for.
pub const RETENTION_DEFAULT_DAYS: &str = "RETENTION_DEFAULT_DAYS";
/// The longest retention period staff may set.
pub const RETENTION_MAX_DAYS: &str = "RETENTION_MAX_DAYS";

/// Named settings, from the process environment or given explicitly.
#[derive(Clone, Debug, Default)]
pub struct Config(HashMap<String, String>);

impl Config {
    /// Settings of a Lambda container.
    pub fn from_process_env() -> Self {
        Self(std::env::vars().collect())
    }

    /// Settings given explicitly, as the local stack does for in-process functions.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// A non-empty setting, if present.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A setting the function cannot run without.
    pub fn required(&self, name: &str) -> Result<&str, MissingSetting> {
        self.optional(name)
            .ok_or_else(|| MissingSetting { name: name.to_owned() })
    }

    /// Where outbound calls may go ([`OUTBOUND_ALLOW_PRIVATE`](crate::destinations::OUTBOUND_ALLOW_PRIVATE)).
    pub fn destinations(&self) -> crate::destinations::Destinations {
        crate::destinations::Destinations {
            allow_private: self.optional(crate::destinations::OUTBOUND_ALLOW_PRIVATE) == Some("true"),
        }
    }

    /// The retention bounds (`RETENTION_DEFAULT_DAYS`, 30; `RETENTION_MAX_DAYS`,
    /// 365): each from 1 to 3650 days, the default within the maximum.
    pub fn retention_bounds(&self) -> Result<crate::retention::RetentionBounds, MissingSetting> {
        let days = |name: &str, default: i64| -> Result<u16, MissingSetting> {
            u16::try_from(self.number(name, default)?)
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| MissingSetting { name: name.to_owned() })
        };
        let max_days = days(RETENTION_MAX_DAYS, 365)?;
        let default_days = days(RETENTION_DEFAULT_DAYS, 30)?;
        if default_days > max_days {
            return Err(MissingSetting {
                name: RETENTION_DEFAULT_DAYS.to_owned(),
            });
        }
        Ok(crate::retention::RetentionBounds { default_days, max_days })
    }

    /// A numeric setting, or `default` when unset.
    pub fn number(&self, name: &str, default: i64) -> Result<i64, MissingSetting> {
        match self.optional(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| MissingSetting { name: name.to_owned() }),
        }
    }
}
