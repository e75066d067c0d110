//! The API's handlers, by resource.

pub(crate) mod audit;
pub(crate) mod confirmations;
pub(crate) mod export;
pub(crate) mod holds;
pub(crate) mod intrusions;
pub(crate) mod notifications;
pub(crate) mod push;
