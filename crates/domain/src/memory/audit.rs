//! The audit trail, in memory: appended entries, read newest first.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page_of, round_trip};
use crate::audit::{AuditEntry, AuditFilter, AuditStore};
use crate::error::DomainError;
use crate::page::{Page, PageRequest};

/// Audit entries, in memory.
#[derive(Default)]
pub struct MemoryAudit {
    entries: Mutex<Vec<AuditEntry>>,
}

impl MemoryAudit {
    /// Every entry, oldest first.
    pub fn all(&self) -> Vec<AuditEntry> {
        lock(&self.entries).clone()
    }
}

#[async_trait]
impl AuditStore for MemoryAudit {
    async fn append(&self, entry: &AuditEntry) -> Result<bool, DomainError> {
        round_trip().await;
        let mut entries = lock(&self.entries);
        if entries.iter().any(|e| e.id == entry.id && e.at == entry.at) {
            return Ok(false);
        }
        entries.push(entry.clone());
        Ok(true)
    }

    async fn entries(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditEntry>, DomainError> {
        round_trip().await;
        let matching: Vec<AuditEntry> = lock(&self.entries)
            .iter()
            .rev()
            .filter(|e| filter.client_id.is_none_or(|c| e.client_id == Some(c)))
            .filter(|e| {
                filter
                    .actor
                    .as_deref()
                    .is_none_or(|a| e.actor == a || e.actor_email.as_deref() == Some(a))
            })
            .filter(|e| filter.from.is_none_or(|from| e.at >= from))
            .filter(|e| filter.to.is_none_or(|to| e.at <= to))
            .cloned()
            .collect();
        page_of(&matching, page)
    }
}
