//! Human detection: finds people in camera frames. The S3-triggered Lambda
//! around it turns three consecutive person frames into one intrusion.

pub mod detector;
pub mod frame;
