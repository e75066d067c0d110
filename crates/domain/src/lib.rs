//! The SecCom core: identifiers and validated values, the authorisation policy,
//! the rules, and the use cases as services over ports (directory, detection,
//! responses, controls, media links, clock), with in-memory adapters of every
//! port for unit tests. It knows nothing of AWS or HTTP: the DynamoDB and S3
//! adapters live in `seccom-aws`, the HTTP conventions (problem details,
//! extractors, token verification) in `seccom-http`.

pub mod arming;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod controls;
pub mod credential;
pub mod destinations;
pub mod detection;
pub mod directory;
pub mod error;
pub mod export;
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod ids;
pub mod media;
pub mod memory;
pub mod page;
#[cfg(test)]
mod proptests;
pub mod response;
pub mod retention;
pub mod s3_key;
pub mod values;
pub mod wiring;
