//! `ferryd` and `ferryctl`: the daemon's registry of sources and tasks, its HTTP API, and the
//! wire format they share.

pub mod allocator;
pub mod api;
mod api_ops;
pub mod api_tls;
pub mod api_token;
pub mod ctl;
pub mod data_key;
pub mod folders;
pub mod logging;
pub mod registry;
pub mod schema_cmd;
pub mod systemd;
pub mod wire;
