//! Camera video as SecCom records, stores and shows it: H.264 in MP4 files
//! every browser plays, written from pictures or from a camera's own stream
//! and read back ([`clip`]), and a stored clip reworked picture by picture,
//! as the clip archiver does to blur a camera's privacy masks ([`rework`]).

pub mod clip;
pub mod rework;
