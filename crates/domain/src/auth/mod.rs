//! Who is calling and what they may do. The policy here is the only place that
//! decides access: handlers ask it, they never re-implement it. (Verifying
//! tokens into a [`Principal`] is `seccom-http`'s job.)

use crate::error::DomainError;
use crate::ids::ClientId;

/// What ends a verified token's access before it expires (the directory
/// keeps both): its user's sign-out, and the erasure of its user's client.
#[async_trait::async_trait]
pub trait Sessions: Send + Sync {
    /// When `subject` last signed out, if ever.
    async fn signed_out_at(&self, subject: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, DomainError>;
    /// Whether `client` still exists.
    async fn client_exists(&self, client: ClientId) -> Result<bool, DomainError>;
}

/// The Cognito group of SecCom staff.
pub const ADMIN_GROUP: &str = "admin";
/// The Cognito group of client users; their tenant is the `custom:client_id` attribute.
pub const CLIENT_GROUP: &str = "client";
/// The user attribute (claim) that binds a client user to its tenant.
pub const CLIENT_ID_CLAIM: &str = "custom:client_id";
/// The claim listing a user's Cognito groups.
pub const GROUPS_CLAIM: &str = "cognito:groups";

/// A role, derived from verified identity-provider claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// SecCom staff: may read and change everything.
    Admin,
    /// A user of one client: may read that client's records only.
    Client(ClientId),
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The identity provider's stable user id (`sub`).
    pub subject: String,
    /// What the caller may do.
    pub role: Role,
    /// The e-mail address the identity provider holds for the user, when its
    /// token carries one: what pages show for who handled an intrusion.
    pub email: Option<String>,
    /// The address the request came from, as the load balancer saw it (for
    /// the audit trail); `None` outside a request.
    pub address: Option<String>,
}

impl Principal {
    /// Derives the role from group membership; `None` when the user has no usable role.
    pub fn from_claims(subject: String, groups: &[String], client_id: Option<&str>) -> Option<Self> {
        let role = if groups.iter().any(|g| g == ADMIN_GROUP) {
            Role::Admin
        } else if groups.iter().any(|g| g == CLIENT_GROUP) {
            Role::Client(client_id?.parse().ok()?)
        } else {
            return None;
        };
        Some(Self {
            subject,
            role,
            email: None,
            address: None,
        })
    }

    /// The same caller, known by `email` (from the same verified token).
    pub fn with_email(self, email: Option<String>) -> Self {
        Self { email, ..self }
    }

    /// The same caller, calling from `address`.
    pub fn with_address(self, address: Option<String>) -> Self {
        Self { address, ..self }
    }

    /// Changes to clients, sites and devices are for SecCom staff only.
    pub fn require_staff(&self) -> Result<(), DomainError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Client(_) => Err(DomainError::Forbidden(
                "this action is reserved for SecCom staff".into(),
            )),
        }
    }

    /// A record owned by another tenant is reported as missing, so its existence never leaks.
    pub fn require_visible(&self, owner: ClientId, what: &'static str) -> Result<(), DomainError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Client(own) if own == owner => Ok(()),
            Role::Client(_) => Err(DomainError::NotFound(what)),
        }
    }

    /// Which client a list of per-client records covers when `asked` for one:
    /// a client user's own (another client is not found), for staff the one
    /// asked for, or `None`: every client.
    pub fn client_scope(&self, asked: Option<ClientId>) -> Result<Option<ClientId>, DomainError> {
        match (self.tenant(), asked) {
            (Some(own), Some(asked)) if own != asked => Err(DomainError::NotFound("client")),
            (Some(own), _) => Ok(Some(own)),
            (None, asked) => Ok(asked),
        }
    }

    /// The tenant a list must be restricted to, or `None` for staff who see every tenant.
    pub fn tenant(&self) -> Option<ClientId> {
        match self.role {
            Role::Admin => None,
            Role::Client(own) => Some(own),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn roles_come_from_groups_and_the_tenant_attribute() {
        let tenant = ClientId::generate();
        let admin = Principal::from_claims("a".into(), &groups(&["admin"]), None).unwrap();
        assert_eq!(admin.role, Role::Admin);
        let client = Principal::from_claims("c".into(), &groups(&["client"]), Some(&tenant.to_string())).unwrap();
        assert_eq!(client.role, Role::Client(tenant));
        assert!(Principal::from_claims("c".into(), &groups(&["client"]), None).is_none());
        assert!(Principal::from_claims("c".into(), &groups(&["client"]), Some("garbage")).is_none());
        assert!(Principal::from_claims("x".into(), &groups(&["visitors"]), None).is_none());
    }

    #[test]
    fn clients_see_only_their_tenant_and_never_write() {
        let own = ClientId::generate();
        let other = ClientId::generate();
        let client = Principal {
            subject: "c".into(),
            role: Role::Client(own),
            email: None,
            address: None,
        };
        assert!(client.require_visible(own, "site").is_ok());
        assert!(matches!(
            client.require_visible(other, "site"),
            Err(DomainError::NotFound("site"))
        ));
        assert!(matches!(client.require_staff(), Err(DomainError::Forbidden(_))));
        assert_eq!(client.tenant(), Some(own));
        let admin = Principal {
            subject: "a".into(),
            role: Role::Admin,
            email: None,
            address: None,
        };
        assert!(admin.require_visible(other, "site").is_ok() && admin.require_staff().is_ok());
    }
}
