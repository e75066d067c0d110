//! The SecCom domain shared by every Lambda: identifiers and validated values,
//! the authorisation policy, the directory of clients, sites and devices with
//! its DynamoDB adapter, and the use cases with their ports. It knows nothing of
//! HTTP: the conventions every API answers with (problem details, extractors,
//! token verification) live in `seccom-http`.

pub mod arming;
pub mod auth;
pub mod clock;
pub mod config;
pub mod controls;
pub mod credential;
pub mod destinations;
pub mod detection;
pub mod directory;
mod dynamo;
pub mod error;
pub mod ids;
pub mod media;
pub mod memory;
pub mod page;
mod page_token;
#[cfg(test)]
mod proptests;
pub mod response;
pub mod s3_key;
pub mod values;
