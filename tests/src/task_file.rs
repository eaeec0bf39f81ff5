//! Task files for tests.

use crate::server::TestServer;

/// A task file named `name` in `mode` towards `down` (root, empty password), one instance
/// on source `src` replicating the tables of `db`; `extra` follows the instance (its `meta`
/// block, then top-level keys).
pub fn one_db_task(
    name: &str,
    mode: &str,
    down: &TestServer,
    src: &str,
    db: &str,
    extra: &str,
) -> String {
    format!(
        "name: \"{name}\"\ntask-mode: {mode}\n\
         target-database:\n  host: \"127.0.0.1\"\n  port: {}\n  user: \"root\"\n  password: \"\"\n\
         block-allow-list:\n  bal:\n    do-dbs: [\"{db}\"]\n\
         mysql-instances:\n  - source-id: \"{src}\"\n    block-allow-list: \"bal\"\n{extra}",
        down.port()
    )
}
