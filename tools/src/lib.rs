//! The `seccom` developer and operator tools: the local stack, the local
//! identity provider, and camera and alarm simulators.

pub mod cost;
pub mod demo;
pub mod devices;
pub mod edge;
pub mod idp;
pub mod local;
