//! How long a client's footage is kept, and what is kept longer. CCTV footage
//! of people is personal data: each client's snapshots, evidence frames, clips
//! and intrusion records are deleted once older than its retention period
//! (staff set it within bounds SecCom configures; 30 days by default), unless
//! staff placed a legal hold on the intrusion, with a reason, until they
//! release it. The deleting is [`purge::Purge`], run on a schedule. Staff may
//! also erase a client, a site or a device outright ([`erasure`]).

pub mod erasure;
pub mod ports;
pub mod purge;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::detection::Intrusions;
use crate::directory::Directory;
use crate::error::DomainError;
use crate::ids::{ClientId, IntrusionId};
use crate::page::{Page, PageRequest};
use crate::values::FieldError;
use ports::RetentionStore;

/// The bounds staff may set a client's period within, and the period of a
/// client nobody set one for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionBounds {
    /// Days kept when staff set nothing (`RETENTION_DEFAULT_DAYS`, 30).
    pub default_days: u16,
    /// The longest period staff may set (`RETENTION_MAX_DAYS`, 365).
    pub max_days: u16,
}

impl Default for RetentionBounds {
    fn default() -> Self {
        Self {
            default_days: 30,
            max_days: 365,
        }
    }
}

/// A client's retention period as kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRetention {
    pub client_id: ClientId,
    pub days: u16,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A client's retention period as users read it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionView {
    pub client_id: ClientId,
    /// Footage and intrusion records older than this many days are deleted.
    pub days: u16,
    /// `true` while SecCom's default applies (nobody set a period).
    pub is_default: bool,
    /// The longest period staff may set.
    pub max_days: u16,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Body of `PUT /api/clients/{clientId}/retention`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// Days to keep footage and intrusion records, 1 to the configured maximum.
    #[schema(minimum = 1, maximum = 3650, example = 30)]
    pub days: i64,
}

/// Staff keep an intrusion and its footage past retention (an investigation,
/// a court case) until they release it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegalHold {
    pub intrusion_id: IntrusionId,
    pub client_id: ClientId,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
}

/// Body of `PUT /api/intrusions/{id}/hold`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Why the intrusion is kept (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// A 422 naming `field`.
fn invalid(field: &str, reason: String) -> DomainError {
    DomainError::Invalid(vec![FieldError {
        name: field.to_owned(),
        reason,
    }])
}

/// The most characters a hold's reason may have.
const MAX_REASON_CHARS: usize = 500;

/// Clients' retention periods, scoped by the authorisation policy.
#[derive(Clone)]
pub struct RetentionPeriods {
    directory: Directory,
    store: Arc<dyn RetentionStore>,
    bounds: RetentionBounds,
}

impl RetentionPeriods {
    /// The periods kept in `store`, within `bounds`.
    pub fn new(directory: Directory, store: Arc<dyn RetentionStore>, bounds: RetentionBounds) -> Self {
        Self {
            directory,
            store,
            bounds,
        }
    }

    /// A client's period (staff, or the client's own users).
    pub async fn retention(&self, who: &Principal, client: ClientId) -> Result<RetentionView, DomainError> {
        let client = self.directory.get_client(who, client).await?;
        let saved = self.store.retention(client.id).await?;
        Ok(self.view(client.id, saved))
    }

    fn view(&self, client: ClientId, saved: Option<ClientRetention>) -> RetentionView {
        RetentionView {
            client_id: client,
            days: saved.as_ref().map_or(self.bounds.default_days, |s| s.days),
            is_default: saved.is_none(),
            max_days: self.bounds.max_days,
            updated_by: saved.as_ref().map(|s| s.updated_by.clone()),
            updated_at: saved.map(|s| s.updated_at),
        }
    }

    /// Sets a client's period (staff only), 1 day to the configured maximum.
    #[tracing::instrument(skip_all, fields(client = %client))]
    pub async fn set_retention(
        &self,
        who: &Principal,
        client: ClientId,
        body: RetentionBody,
    ) -> Result<RetentionView, DomainError> {
        who.require_staff()?;
        let client = self.directory.get_client(who, client).await?;
        let max = self.bounds.max_days;
        let Some(days) = u16::try_from(body.days).ok().filter(|d| (1..=max).contains(d)) else {
            return Err(invalid("days", format!("days must be from 1 to {max}")));
        };
        let retention = ClientRetention {
            client_id: client.id,
            days,
            updated_by: who.email.clone().unwrap_or_else(|| who.subject.clone()),
            updated_at: self.directory.now(),
        };
        self.store.save_retention(&retention).await?;
        self.directory
            .audit()
            .record(
                who,
                AuditAction::ChangedRetention,
                client.id,
                format!("client/{}", client.id),
            )
            .await?;
        tracing::info!(days, "retention set");
        Ok(self.view(client.id, Some(retention)))
    }
}

/// Legal holds on intrusions, scoped by the authorisation policy.
#[derive(Clone)]
pub struct LegalHolds {
    intrusions: Intrusions,
    store: Arc<dyn RetentionStore>,
    clock: Arc<dyn Clock>,
}

impl LegalHolds {
    /// The holds kept in `store`, on intrusions read through `intrusions`.
    pub fn new(intrusions: Intrusions, store: Arc<dyn RetentionStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            intrusions,
            store,
            clock,
        }
    }

    /// Keeps an intrusion and its footage until released (staff only).
    #[tracing::instrument(skip_all, fields(intrusion = %intrusion))]
    pub async fn place_hold(
        &self,
        who: &Principal,
        intrusion: IntrusionId,
        body: HoldBody,
    ) -> Result<LegalHold, DomainError> {
        who.require_staff()?;
        let intrusion = self.intrusions.get(who, intrusion).await?;
        let reason = body.reason.trim();
        if reason.is_empty() || body.reason.chars().count() > MAX_REASON_CHARS {
            return Err(invalid(
                "reason",
                format!("reason must be 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        let hold = LegalHold {
            intrusion_id: intrusion.id,
            client_id: intrusion.client_id,
            reason: reason.to_owned(),
            placed_by: who.email.clone().unwrap_or_else(|| who.subject.clone()),
            placed_at: self.clock.now(),
        };
        self.store.place_hold(&hold).await?;
        self.intrusions
            .audited(who, AuditAction::PlacedLegalHold, &intrusion)
            .await?;
        tracing::info!("legal hold placed");
        Ok(hold)
    }

    /// Releases the hold on an intrusion (staff only); the next purge deletes
    /// it if it is past retention. Not found when there is no hold.
    #[tracing::instrument(skip_all, fields(intrusion = %intrusion))]
    pub async fn release_hold(&self, who: &Principal, intrusion: IntrusionId) -> Result<(), DomainError> {
        who.require_staff()?;
        let intrusion = self.intrusions.get(who, intrusion).await?;
        let hold = self
            .store
            .hold(intrusion.id)
            .await?
            .ok_or(DomainError::NotFound("hold"))?;
        if !self.store.release_hold(&hold).await? {
            return Err(DomainError::NotFound("hold"));
        }
        self.intrusions
            .audited(who, AuditAction::ReleasedLegalHold, &intrusion)
            .await?;
        tracing::info!("legal hold released");
        Ok(())
    }

    /// The hold on an intrusion the caller may see, if any.
    pub async fn hold(&self, who: &Principal, intrusion: IntrusionId) -> Result<Option<LegalHold>, DomainError> {
        let intrusion = self.intrusions.get(who, intrusion).await?;
        self.store.hold(intrusion.id).await
    }

    /// Holds newest first: a client user's own, or for staff all (or one client's).
    pub async fn holds(
        &self,
        who: &Principal,
        client: Option<ClientId>,
        page: PageRequest,
    ) -> Result<Page<LegalHold>, DomainError> {
        self.store.holds(who.client_scope(client)?, &page).await
    }
}

#[cfg(test)]
mod tests;
