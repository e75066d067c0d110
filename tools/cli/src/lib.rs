//! The `seccom` CLI's own parts: the demo, the load run and the cost model. The local stack
//! is `seccom-local`, the device simulators and the edge recorder are
//! `seccom-devices`; `main.rs` parses the command line and calls them.

pub mod cost;
pub mod demo;
pub mod load;
