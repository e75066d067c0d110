//! Camera pictures as SecCom reads and shows them: uploaded bytes turned into
//! an image within limits ([`frame`]), and a camera's privacy masks blurred in
//! every picture a person can see ([`privacy`]). Shared by the detector, human
//! detection and the portals, so the same reader and the same blur serve them all.

pub mod frame;
pub mod privacy;
