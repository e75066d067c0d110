//! The `seccom` developer and operator tools: the local stack and the local identity provider.

pub mod camera;
pub mod idp;
pub mod local;
