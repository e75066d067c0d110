//! Device simulators that behave like real cameras and alarms against the
//! devices API: they heartbeat, register an endpoint and accept signed command
//! pushes on it, act on each command once whichever way it arrives, and (for
//! cameras) stream frames and answer clip requests from a ring buffer.

pub mod alarm;
pub mod camera;
pub use seccom_footage::clip;
pub mod edge;
mod inbox;
mod link;

pub use inbox::{Connection, DeviceOptions, Via};
pub use link::{DeviceLink, FrameUpload, Heartbeat};
