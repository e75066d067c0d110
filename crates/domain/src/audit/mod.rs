//! The audit trail: who looked at which intrusion's footage and who changed
//! what, when, from which address. Entries are only ever added (the store's
//! port has no update or delete, nor do the functions' roles); they expire
//! after the audit's own retention. Staff read every entry, a client's users
//! the entries about that client.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ClientId;
use crate::page::{Page, PageRequest};

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuditAction {
    /// Opened an intrusion's detail, with links to its snapshot, evidence and clip.
    ViewedIntrusion,
    AcknowledgedIntrusion,
    ResolvedIntrusion,
    ReopenedIntrusion,
    ChangedArming,
    ChangedDetectionSettings,
    ChangedEscalation,
    RegisteredDevice,
    RemovedDevice,
    ChangedNotificationPreferences,
    RotatedWebhookSecret,
    ChangedRetention,
    PlacedLegalHold,
    ReleasedLegalHold,
    /// Asked for a client, site or device to be erased with everything recorded of it.
    RequestedErasure,
    /// Downloaded the client's records (subject access), with links to its footage.
    ExportedRecords,
    /// Signed in to a portal (recorded once per session).
    SignedIn,
}

/// One thing someone did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    /// The identity provider's id of the user.
    pub actor: String,
    /// The user's e-mail address, when their token carried one.
    pub actor_email: Option<String>,
    /// The address the request came from, as the load balancer saw it.
    pub address: Option<String>,
    /// The client the action concerned; `null` for a staff member's sign-in.
    pub client_id: Option<ClientId>,
    pub action: AuditAction,
    /// What it was done to, as `<kind>/<id>` (`intrusion/…`, `site/…`, `camera/…`, `client/…`).
    pub target: String,
    /// Whether the actor is SecCom staff: a client's users see such an entry's
    /// actor as "SecCom staff", without the staff member's id, e-mail or address.
    #[serde(default)]
    pub by_staff: bool,
}

/// Who a client's users see for an action of SecCom staff.
pub const STAFF_ACTOR: &str = "SecCom staff";

impl AuditEntry {
    /// What `who` did, as an entry: the actor's id, e-mail and address from the caller.
    fn by(
        who: &Principal,
        id: String,
        at: DateTime<Utc>,
        client_id: Option<ClientId>,
        action: AuditAction,
        target: String,
    ) -> Self {
        Self {
            id,
            at,
            actor: who.subject.clone(),
            actor_email: who.email.clone(),
            address: who.address.clone(),
            client_id,
            action,
            target,
            by_staff: who.tenant().is_none(),
        }
    }

    /// The entry as a client's user sees it: staff are "SecCom staff", with no
    /// id, e-mail or address.
    fn seen_by_clients(self) -> Self {
        if !self.by_staff {
            return self;
        }
        Self {
            actor: STAFF_ACTOR.into(),
            actor_email: None,
            address: None,
            ..self
        }
    }
}

/// Which entries a list holds: the caller's scope, narrowed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// Only about this client (a client user sees only its own anyway).
    pub client_id: Option<ClientId>,
    /// Only by this user: their id or e-mail address.
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Where entries are appended and read.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Adds an entry; entries are never changed or removed. `false` when an
    /// entry with the same time and id exists (a sign-in recorded already).
    async fn append(&self, entry: &AuditEntry) -> Result<bool, DomainError>;
    /// Entries newest first, as `filter` says.
    async fn entries(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditEntry>, DomainError>;
}

/// The audit trail's use cases. A trail without a store records nothing: the
/// functions that take no audited action (the detector, the responder) have none.
#[derive(Clone)]
pub struct AuditTrail {
    store: Option<Arc<dyn AuditStore>>,
    clock: Arc<dyn Clock>,
}

impl AuditTrail {
    /// A trail kept in `store`, timed by `clock`.
    pub fn new(store: Option<Arc<dyn AuditStore>>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Records that `who` did `action` to `target` of `client`. An entry that
    /// cannot be written fails the request: nothing audited goes unrecorded.
    pub async fn record(
        &self,
        who: &Principal,
        action: AuditAction,
        client: ClientId,
        target: String,
    ) -> Result<(), DomainError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let entry = AuditEntry::by(
            who,
            uuid::Uuid::new_v4().to_string(),
            self.clock.now(),
            Some(client),
            action,
            target,
        );
        if store.append(&entry).await? {
            Ok(())
        } else {
            Err(DomainError::unavailable(
                "cannot record an audit entry",
                "its key is taken",
            ))
        }
    }

    /// Records that `who` signed in to a portal at `signed_in_at`, once per
    /// session however many pages it opens: the entry's time and id come from
    /// the session, so a second write finds it.
    pub async fn record_sign_in(&self, who: &Principal, signed_in_at: DateTime<Utc>) -> Result<(), DomainError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let session = format!("{}@{}", who.subject, signed_in_at.timestamp());
        let id = crate::credential::hash(&session)[..32].to_owned();
        let entry = AuditEntry::by(
            who,
            id,
            signed_in_at,
            who.tenant(),
            AuditAction::SignedIn,
            "portal".into(),
        );
        store.append(&entry).await.map(|_| ())
    }

    /// Entries newest first: staff read all (or one client's), a client user its own.
    pub async fn entries(
        &self,
        who: &Principal,
        mut filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, DomainError> {
        filter.client_id = who.client_scope(filter.client_id)?;
        crate::values::ordered_range(filter.from, filter.to)?;
        let Some(store) = &self.store else {
            return Ok(Page {
                items: Vec::new(),
                next_token: None,
            });
        };
        let mut found = store.entries(&filter, &page).await?;
        if who.tenant().is_some() {
            // A client's user neither sees staff members' ids, e-mails and
            // addresses, nor learns them by filtering for one.
            let by_actor = filter.actor.is_some();
            found.items = found
                .items
                .into_iter()
                .filter(|entry| !(by_actor && entry.by_staff))
                .map(AuditEntry::seen_by_clients)
                .collect();
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
