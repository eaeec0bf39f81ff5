//! `ferryd` and `ferryctl`: the daemon's registry of sources and tasks, its HTTP API, and the
//! wire format they share.

pub mod allocator;
pub mod api;
pub mod data_key;
pub mod folders;
pub mod logging;
pub mod registry;
pub mod schema_cmd;
pub mod systemd;
pub mod wire;
