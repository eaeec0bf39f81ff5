//! A task's configuration turned into its subtasks (one per `mysql-instances` entry): their
//! endpoints, rules and unit settings. [`crate::pipeline`] runs them.

use std::collections::HashMap;

use ferry_config::{DbConfig, LoaderConfig, OnDuplicateLogical, SourceConfig, TaskConfig};

use ferry_model::TaskMode;

use crate::bulk::{BulkSpec, Consistency, OnDuplicate};
use crate::db::Endpoint;
use crate::error::{Side, TaskError};
use crate::rules::{BlockAllowList, EventFilter, RouteSpec, Router};
use crate::sync::SyncSpec;

/// The task mode in Ferry's terms (DM's `dump`/`load` run the full phase, `load&sync` is `all`).
pub fn task_mode(t: &TaskConfig) -> TaskMode {
    use ferry_config::enums::TaskMode as C;
    match t.mode() {
        C::Full | C::Dump | C::Load => TaskMode::Full,
        C::Incremental => TaskMode::Incremental,
        C::All | C::LoadSync => TaskMode::All,
    }
}

/// The default `--consistency` when `extra-args` does not set one (DM/dumpling: `auto`).
pub const DEFAULT_CONSISTENCY: Consistency = Consistency::Auto;

/// Builds an endpoint from a DM `from:` / `target-database:` block.
///
/// TLS: a `security` block turns TLS on; its CA (`ssl-ca` file, or inline `ssl-ca-bytes` /
/// `ssl-ca-base64`) verifies the server, and its client certificate and key (`ssl-cert` /
/// `ssl-key`, or their inline forms) authenticate Ferry ([`crate::tls`]).
pub fn endpoint(side: Side, db: &DbConfig) -> Result<Endpoint, TaskError> {
    let what = match side {
        Side::Upstream => "from.security",
        Side::Downstream => "target-database.security",
    };
    let tls = match &db.security {
        None => None,
        Some(s) => Some(crate::tls::load(what, s)?),
    };
    Ok(Endpoint {
        side,
        host: db.host.clone(),
        port: db.port,
        user: db.user.clone(),
        password: db.password.expose().to_string(),
        session: db
            .session
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tls,
    })
}

/// One subtask: a (task, source) pair.
pub struct Subtask {
    /// Source id.
    pub source_id: String,
    /// What the subtask does.
    pub mode: TaskMode,
    /// The full phase, when the task mode has one.
    pub bulk: BulkSpec,
    /// The incremental phase, when the task mode has one.
    pub sync: SyncSpec,
}

/// Builds every subtask of a task. `sources` are the registered sources by id.
pub fn build_subtasks(
    task: &TaskConfig,
    sources: &HashMap<String, SourceConfig>,
) -> Result<Vec<Subtask>, TaskError> {
    let target = task
        .target()
        .ok_or_else(|| TaskError::Config("task has no target-database".into()))?;
    let mut out = Vec::new();
    for (i, inst) in task.mysql_instances.iter().enumerate() {
        let source = sources.get(&inst.source_id).ok_or_else(|| {
            TaskError::Config(format!(
                "mysql-instances[{i}].source-id `{}` is not a registered source \
                 (create it first: operate-source create source.yaml)",
                inst.source_id
            ))
        })?;
        let balist = match task.instance_block_allow_list(i) {
            Some(r) => BlockAllowList::new(
                &r.do_dbs,
                &r.ignore_dbs,
                &r.do_tables
                    .iter()
                    .map(|t| (t.db_name.clone(), t.tbl_name.clone()))
                    .collect::<Vec<_>>(),
                &r.ignore_tables
                    .iter()
                    .map(|t| (t.db_name.clone(), t.tbl_name.clone()))
                    .collect::<Vec<_>>(),
                task.case_sensitive,
            ),
            None => BlockAllowList::new(&[], &[], &[], &[], task.case_sensitive),
        }
        .map_err(|e| TaskError::Config(format!("mysql-instances[{i}].block-allow-list: {e}")))?;
        let named: Vec<(&String, &ferry_config::RouteRule)> = inst
            .route_rules
            .iter()
            .filter_map(|n| task.routes.get(n).map(|r| (n, r)))
            .collect();
        if let Some((n, _)) = named.iter().find(|(_, r)| {
            r.extract_table.is_some() || r.extract_schema.is_some() || r.extract_source.is_some()
        }) {
            return Err(TaskError::Config(format!(
                "routes.{n}: extract-table / extract-schema / extract-source are not supported yet"
            )));
        }
        if !source.enable {
            return Err(TaskError::Config(format!(
                "source `{}` is disabled (enable: false); tasks on it are not started",
                inst.source_id
            )));
        }
        let specs: Vec<RouteSpec<'_>> = named
            .iter()
            .map(|(n, r)| RouteSpec {
                name: n,
                schema_pattern: &r.schema_pattern,
                table_pattern: &r.table_pattern,
                target_schema: &r.target_schema,
                target_table: &r.target_table,
            })
            .collect();
        let router = Router::new(&specs, task.case_sensitive)
            .map_err(|e| TaskError::Config(format!("mysql-instances[{i}].route-rules: {e}")))?;
        let dumper = task.instance_mydumper(i);
        let loader: LoaderConfig = task.instance_loader(i);
        let extra = dumper.parsed_extra_args().map_err(|e| {
            TaskError::Config(format!("mysql-instances[{i}] mydumper extra-args: {e}"))
        })?;
        let chunk_limit = dumper.chunk_filesize_limit().map_err(|e| {
            TaskError::Config(format!("mysql-instances[{i}] mydumper chunk-filesize: {e}"))
        })?;
        let user_where = Some(dumper.r#where.clone())
            .filter(|w| !w.trim().is_empty())
            .or(extra.r#where.clone());
        let named_filters: Vec<(&str, &ferry_config::BinlogEventRule)> = inst
            .filter_rules
            .iter()
            .filter_map(|n| task.filters.get(n).map(|r| (n.as_str(), r)))
            .collect();
        let filter = EventFilter::new(&named_filters, task.case_sensitive)
            .map_err(|e| TaskError::Config(format!("mysql-instances[{i}].filter-rules: {e}")))?;
        let syncer = task.instance_syncer(i);
        let meta = inst.meta.clone().unwrap_or_default();
        let sync = SyncSpec {
            task: task.name.clone(),
            source_id: inst.source_id.clone(),
            upstream: endpoint(Side::Upstream, &source.from)?,
            downstream: endpoint(Side::Downstream, target)?,
            balist: balist.clone(),
            router: router.clone(),
            filter,
            worker_count: syncer.worker_count.max(1) as usize,
            batch: syncer.batch.max(1) as usize,
            meta_schema: task.meta_schema.clone(),
            server_id: source.fixed_server_id(),
            backend: source.binlog_backend,
            safe_mode: syncer.safe_mode,
            safe_mode_for: task
                .declared_syncer(i)
                .and_then(ferry_config::SyncerConfig::explicit_safe_mode_duration),
            multiple_rows: syncer.multiple_rows.unwrap_or(true),
            meta_position: meta.position(),
            meta_gtid: meta.gtid_set(),
            operators: Default::default(),
            relay: None,
            needed: Default::default(),
        };
        out.push(Subtask {
            source_id: inst.source_id.clone(),
            mode: task_mode(task),
            sync,
            bulk: BulkSpec {
                task: task.name.clone(),
                source_id: inst.source_id.clone(),
                upstream: endpoint(Side::Upstream, &source.from)?,
                downstream: endpoint(Side::Downstream, target)?,
                balist,
                router,
                threads: dumper.effective_threads() as usize,
                pool_size: loader.pool_size.max(1) as usize,
                rows: dumper.rows.filter(|r| *r > 0).or(extra.rows),
                chunk_filesize_mib: chunk_limit.map_or(0, |b| (b / (1024 * 1024)).max(1)),
                consistency: extra.consistency.unwrap_or(DEFAULT_CONSISTENCY),
                user_where,
                meta_schema: task.meta_schema.clone(),
                on_duplicate: match loader.effective_on_duplicate() {
                    OnDuplicateLogical::Replace => OnDuplicate::Replace,
                    OnDuplicateLogical::Ignore => OnDuplicate::Ignore,
                    OnDuplicateLogical::Error => OnDuplicate::Error,
                },
                needed: Default::default(),
            },
        });
    }
    Ok(out)
}
