//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod errors;

use std::collections::HashMap;
use std::path::PathBuf;

/// Path of a fixture file.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Text of a fixture file.
pub fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture exists")
}

/// An environment lookup over fixed pairs.
pub fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// The environment the DM guide's seed files need.
pub fn seed_env() -> impl Fn(&str) -> Option<String> {
    env_of(&[
        ("host", "172.16.10.83"),
        ("username", "dm_user"),
        ("password", "Sup3r\"S3cret'pw"),
    ])
}

/// No variable set.
pub fn no_env(_: &str) -> Option<String> {
    None
}
