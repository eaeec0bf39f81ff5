//! `check-task`: the prechecks DM runs before a task starts, against the real servers.

use ferry_model::TaskMode;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde_json::{json, Value};

mod conn_number;
mod meta_position;

use crate::bulk::Consistency;
use crate::db::{read_position, Endpoint, ServerInfo};
use crate::grants::Grants;
use crate::schema;
use crate::subtask::Subtask;

/// Outcome of one check item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Passed.
    Success,
    /// Passed with something the user should know.
    Warn,
    /// Blocks the task.
    Fail,
}

/// One precheck item, as DM reports it.
#[derive(Debug, Clone)]
pub struct CheckItem {
    /// DM's item name (the one `ignore-checking-items` takes).
    pub name: &'static str,
    /// What it verifies.
    pub desc: String,
    /// Result.
    pub state: State,
    /// Problems found.
    pub errors: Vec<String>,
    /// How to fix them.
    pub instruction: String,
    /// DM's `extra` (the address checked, for the items that name one).
    pub extra: String,
}

impl CheckItem {
    fn new(name: &'static str, desc: impl Into<String>) -> Self {
        Self {
            name,
            desc: desc.into(),
            state: State::Success,
            errors: Vec::new(),
            instruction: String::new(),
            extra: String::new(),
        }
    }

    fn with_extra(mut self, extra: String) -> Self {
        self.extra = extra;
        self
    }

    fn fail(mut self, e: impl Into<String>, instruction: impl Into<String>) -> Self {
        self.state = State::Fail;
        self.errors.push(e.into());
        self.instruction = instruction.into();
        self
    }

    fn to_json(&self, id: usize) -> Value {
        let severity = match self.state {
            State::Fail => "fail",
            State::Warn => "warn",
            State::Success => "success",
        };
        json!({
            "id": id,
            "name": self.name,
            "desc": self.desc,
            "state": severity,
            "errors": self.errors.iter().map(|e| json!({"severity": severity, "short_error": e})).collect::<Vec<_>>(),
            "instruction": self.instruction,
            "extra": self.extra,
        })
    }
}

async fn grants(conn: &mut Conn, ep: &Endpoint) -> Result<Grants, String> {
    let mut lines: Vec<String> = conn
        .query("SHOW GRANTS FOR CURRENT_USER()")
        .await
        .map_err(|e| format!("{ep:?}: SHOW GRANTS failed: {e}"))?;
    let g = Grants::parse(&lines);
    if g.roles.is_empty() {
        return Ok(g);
    }
    // Roles (Aurora MySQL 3's `rds_superuser_role`, MariaDB roles): their privileges, read
    // as the user may (MySQL 8: `USING`; MariaDB: `SHOW GRANTS FOR role`). When that is
    // refused the roles stay unexpanded and the items that need them warn.
    let using = format!(
        "SHOW GRANTS FOR CURRENT_USER() USING {}",
        g.roles.join(", ")
    );
    if let Ok(more) = conn.query::<String, _>(using).await {
        lines.extend(more);
        let mut all = Grants::parse(&lines);
        all.roles.clear();
        return Ok(all);
    }
    for role in &g.roles {
        let name = role.split('@').next().unwrap_or(role);
        match conn
            .query::<String, _>(format!("SHOW GRANTS FOR {name}"))
            .await
        {
            Ok(more) => lines.extend(more),
            Err(_) => return Ok(g),
        }
    }
    let mut all = Grants::parse(&lines);
    all.roles.clear();
    Ok(all)
}

/// What `check-task` / `start-task` change in the prechecks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// `--start-time` is given: `meta` is not used, so `meta_position` is not checked (DM
    /// replaces `meta` too).
    pub start_time: bool,
}

/// Runs every precheck of a task's subtasks; `ignore` is `ignore-checking-items`.
pub async fn check_subtasks(
    subtasks: &[Subtask],
    mode: TaskMode,
    ignore: &[String],
) -> Vec<CheckItem> {
    check_subtasks_with(subtasks, mode, ignore, CheckOptions::default()).await
}

/// [`check_subtasks`] with options.
pub async fn check_subtasks_with(
    subtasks: &[Subtask],
    mode: TaskMode,
    ignore: &[String],
    opts: CheckOptions,
) -> Vec<CheckItem> {
    if ignore.iter().any(|i| i == "all") {
        return Vec::new();
    }
    let mut items = Vec::new();
    let down_needed = conn_number::downstream_needed(subtasks);
    for (i, sub) in subtasks.iter().enumerate() {
        // The downstream is shared: its connections are counted once, for every subtask.
        let down = (i == 0).then_some(down_needed);
        items.extend(check_subtask(sub, mode, down, opts).await);
    }
    items.retain(|i| !ignore.iter().any(|x| x == i.name));
    items
}

async fn check_subtask(
    sub: &Subtask,
    mode: TaskMode,
    down_needed: Option<u64>,
    opts: CheckOptions,
) -> Vec<CheckItem> {
    let spec = &sub.bulk;
    let up = &spec.upstream;
    let down = &spec.downstream;
    let mut items = Vec::new();
    let src = &sub.source_id;

    // Connectivity.
    let mut up_conn = match up.connect(Vec::new()).await {
        Ok(c) => Some(c),
        Err(e) => {
            items.push(
                CheckItem::new(
                    "source_db_connection",
                    format!("source `{src}` is reachable"),
                )
                .fail(
                    e.to_string(),
                    "check from.host/port/user/password of the source and that the server is up",
                ),
            );
            None
        }
    };
    let mut down_conn = match down.connect(Vec::new()).await {
        Ok(c) => Some(c),
        Err(e) => {
            items.push(
                CheckItem::new("target_db_connection", "target database is reachable").fail(
                    e.to_string(),
                    "check target-database host/port/user/password",
                ),
            );
            None
        }
    };

    if let Some(conn) = up_conn.as_mut() {
        let info = ServerInfo::detect(conn, up).await;
        let mut version =
            CheckItem::new("version", format!("version of source `{src}` is supported"));
        match &info {
            Ok(i) => {
                let supported = match i.flavor {
                    crate::db::Flavor::Mariadb => i.version >= (10, 1, 2),
                    _ => i.version >= (5, 6, 0),
                };
                if !supported {
                    version.state = State::Warn;
                    version.errors.push(format!(
                        "version {} is older than supported",
                        i.version_text
                    ));
                }
            }
            Err(e) => version = version.fail(e.to_string(), ""),
        }
        items.push(version);
        let tables = match schema::selected_tables(conn, up, |s, t| {
            sub.bulk.balist.allows_table(s, t)
        })
        .await
        {
            Ok(t) => t,
            Err(e) => {
                items.push(
                    CheckItem::new(
                        "table_schema",
                        format!("tables of source `{src}` can be read"),
                    )
                    .fail(e.to_string(), "grant SELECT on the selected tables"),
                );
                return items;
            }
        };
        if mode.has_full() {
            items.push(dump_privilege(sub, conn, &tables).await);
            let needed = conn_number::upstream_needed(sub);
            items.push(conn_number::check(conn, up, needed, "dumper", "source").await);
            // The start position must be readable before anything is copied.
            if let Ok(i) = &info {
                let mut pos = CheckItem::new(
                    "binlog_position",
                    format!("the binlog position of source `{src}` can be read (full-phase hand-off point)"),
                );
                if let Err(e) = read_position(conn, i, up).await {
                    pos = pos.fail(e.to_string(), "enable log_bin on the upstream and grant REPLICATION CLIENT (MariaDB: BINLOG MONITOR)");
                }
                items.push(pos);
            }
        }
        items.push(table_schema(sub, &tables, mode));
        if mode.has_sync() {
            items.push(binlog_settings(conn, src).await);
            items.push(replication_privilege(conn, up, src).await);
        }
        if mode == TaskMode::Incremental && !opts.start_time {
            items.extend(meta_position(sub).await);
        }
    }
    if let Some(conn) = down_conn.as_mut() {
        let mut item = CheckItem::new("target_privilege", "privileges of the target user");
        match grants(conn, down).await {
            Ok(g) => {
                let missing: Vec<&str> = [
                    "CREATE", "SELECT", "INSERT", "UPDATE", "DELETE", "ALTER", "DROP", "INDEX",
                ]
                .into_iter()
                .filter(|p| !g.has_global(p))
                .collect();
                if !missing.is_empty() {
                    item = item.fail(
                        format!(
                            "target user {} lacks global {}",
                            down.user,
                            missing.join(", ")
                        ),
                        format!("GRANT {} ON *.* TO the target user", missing.join(", ")),
                    );
                }
            }
            Err(e) => item = item.fail(e, ""),
        }
        items.push(item);
        if let Some(needed) = down_needed {
            items.push(
                conn_number::check(conn, down, needed, "the task (loader/syncer)", "target").await,
            );
        }
    }
    items
}

/// DM's `replication_privilege`: REPLICATION SLAVE and REPLICATION CLIENT, global (SUPER
/// serves for REPLICATION CLIENT; MariaDB ≥ 10.5 prints BINLOG MONITOR for it).
async fn replication_privilege(conn: &mut Conn, ep: &Endpoint, src: &str) -> CheckItem {
    let mut item = CheckItem::new(
        "replication_privilege",
        format!("check replication privileges of source DB (source `{src}`)"),
    )
    .with_extra(format!("address of db instance - {}", ep.addr()));
    let g = match grants(conn, ep).await {
        Ok(g) => g,
        Err(e) => return item.fail(e, ""),
    };
    let missing = g.missing_replication();
    if missing.is_empty() {
        return item;
    }
    let lack: String = missing
        .iter()
        .map(|p| format!("lack of {p} privilege; "))
        .collect();
    if !g.roles.is_empty() {
        item.state = State::Warn;
        item.errors.push(format!(
            "could not confirm: {lack}(the user has roles {} whose privileges are not readable)",
            g.roles.join(", ")
        ));
        return item;
    }
    item.fail(
        lack.trim_end().to_string(),
        "You need grant related privileges: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* \
         (MariaDB ≥ 10.5: REPLICATION SLAVE, BINLOG MONITOR)",
    )
}

/// DM's `meta_position`, for an `incremental` task that will start from its `meta` (no
/// checkpoint yet).
async fn meta_position(sub: &Subtask) -> Option<CheckItem> {
    let spec = &sub.sync;
    if spec.meta_position.is_none() && spec.meta_gtid.is_none() {
        return None;
    }
    if let Ok(Some(_)) = crate::sync::resume_point(spec).await {
        return None;
    }
    meta_position::check(
        &spec.upstream,
        &sub.source_id,
        spec.meta_position.as_ref(),
        spec.meta_gtid.as_ref(),
    )
    .await
}

async fn dump_privilege(sub: &Subtask, conn: &mut Conn, tables: &[schema::TableMeta]) -> CheckItem {
    let spec = &sub.bulk;
    let mut item = CheckItem::new(
        "dump_privilege",
        format!(
            "privileges of the source `{}` user for --consistency {}",
            sub.source_id, spec.consistency
        ),
    );
    let g = match grants(conn, &spec.upstream).await {
        Ok(g) => g,
        Err(e) => return item.fail(e, ""),
    };
    let mut missing = Vec::new();
    for t in tables {
        if !g.has_on_table("SELECT", &t.name.schema, &t.name.table) {
            missing.push(format!("SELECT on {}", t.name));
        }
    }
    match spec.consistency {
        Consistency::Flush if !g.has_global("RELOAD") && !g.has_global("FLUSH_TABLES") => {
            missing.push("RELOAD (for FLUSH TABLES WITH READ LOCK)".into())
        }
        Consistency::Lock => {
            for t in tables {
                if !g.has_on_table("LOCK TABLES", &t.name.schema, &t.name.table) {
                    missing.push(format!("LOCK TABLES on {}", t.name));
                }
            }
        }
        Consistency::Auto if !g.has_global("RELOAD") && !g.has_global("FLUSH_TABLES") => {
            let lockable = tables
                .iter()
                .all(|t| g.has_on_table("LOCK TABLES", &t.name.schema, &t.name.table));
            if !lockable {
                missing.push("RELOAD, or LOCK TABLES on every table (--consistency auto)".into());
            }
        }
        _ => {}
    }
    if !missing.is_empty() {
        if !g.roles.is_empty() {
            item.state = State::Warn;
            item.errors.push(format!(
                "could not confirm: {} (the user has roles {} whose privileges are not expanded)",
                missing.join(", "),
                g.roles.join(", ")
            ));
        } else {
            item = item.fail(
                format!("missing {}", missing.join(", ")),
                "grant the privileges, or use extra-args: \"--consistency none\" (no RELOAD/LOCK needed, as on Aurora)",
            );
        }
    }
    item
}

/// DM's `binlog_enable`, `binlog_format` and `binlog_row_image` checks in one item.
async fn binlog_settings(conn: &mut mysql_async::Conn, src: &str) -> CheckItem {
    use mysql_async::prelude::Queryable;
    let mut item = CheckItem::new(
        "binlog_format",
        format!("source `{src}` writes a row-based binlog (log_bin=ON, binlog_format=ROW, binlog_row_image=FULL)"),
    );
    let row: Result<Option<(String, String, String)>, _> = conn
        .query_first(
            "SELECT CAST(@@GLOBAL.log_bin AS CHAR), @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image",
        )
        .await;
    match row {
        Ok(Some((log_bin, format, image))) => {
            if log_bin != "1" && !log_bin.eq_ignore_ascii_case("ON") {
                return item.fail(
                    "the binary log is off (log_bin=OFF)".to_string(),
                    "enable log_bin on the upstream (Aurora: set binlog_format=ROW in the cluster parameter group)",
                );
            }
            if !format.eq_ignore_ascii_case("ROW") {
                return item.fail(
                    format!("binlog_format is {format}"),
                    "SET GLOBAL binlog_format = 'ROW' (Aurora: in the cluster parameter group)",
                );
            }
            if !image.eq_ignore_ascii_case("FULL") {
                item.state = State::Warn;
                item.errors.push(format!(
                    "binlog_row_image is {image}: updates and deletes of rows need every column; \
                     set it to FULL"
                ));
            }
        }
        Ok(None) => {}
        Err(e) => {
            item.state = State::Warn;
            item.errors
                .push(format!("could not read the binlog settings: {e}"));
        }
    }
    item
}

fn table_schema(sub: &Subtask, tables: &[schema::TableMeta], mode: TaskMode) -> CheckItem {
    let mut item = CheckItem::new(
        "table_schema",
        format!(
            "tables of source `{}` have a primary or unique key",
            sub.source_id
        ),
    );
    for t in tables {
        if t.split_key.is_empty() {
            item.state = State::Warn;
            item.errors.push(format!(
                "table {} has no primary key nor NOT NULL unique key: it is copied as one stream, \
                 and exactly-once replication cannot use a key for it",
                t.name
            ));
        }
    }
    if tables.is_empty() && !mode.has_full() {
        item.state = State::Warn;
        item.errors.push(
            "no upstream table matches the block-allow-list yet: tables created later are \
             replicated from the binlog"
                .to_string(),
        );
    } else if tables.is_empty() {
        item = item.fail(
            "no upstream table matches the block-allow-list".to_string(),
            "check block-allow-list of the task",
        );
    }
    item
}

/// DM's `check-task` JSON: `{result, msg, results, summary}`.
pub fn report(items: &[CheckItem]) -> Value {
    let failed = items.iter().filter(|i| i.state == State::Fail).count();
    let warning = items.iter().filter(|i| i.state == State::Warn).count();
    let successful = items.len() - failed - warning;
    let msg = if failed == 0 {
        if warning == 0 {
            "check pass!!!".to_string()
        } else {
            format!("check pass with {warning} warning(s)")
        }
    } else {
        format!("[code=26005:class=task-check:scope=internal:level=medium] precheck failed: {failed} item(s) failed")
    };
    json!({
        "result": failed == 0,
        "msg": msg,
        "results": items.iter().enumerate().map(|(i, c)| c.to_json(i)).collect::<Vec<_>>(),
        "summary": {"passed": failed == 0, "total": items.len(), "successful": successful, "failed": failed, "warning": warning},
    })
}
