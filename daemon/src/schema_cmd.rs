//! `binlog-schema list|update|delete` (dmctl's names): reads or repairs a table's definition in
//! a task's schema history.

use ferry_actors::error::TaskError;
use ferry_actors::sync::{self, SyncSpec};
use ferry_model::TableName;
use ferry_relay::CheckpointStore;
use serde_json::{json, Value};

use crate::registry::ApiError;
use crate::wire::BinlogSchemaRequest;

fn err(e: TaskError) -> ApiError {
    let status = match e {
        TaskError::Config(_) => 400,
        _ => 500,
    };
    ApiError {
        status,
        msg: e.to_string(),
    }
}

/// Runs one `binlog-schema` request against the Sync unit `spec`.
pub async fn run(
    store: &dyn CheckpointStore,
    spec: &SyncSpec,
    req: &BinlogSchemaRequest,
) -> Result<Value, ApiError> {
    if req.database.is_empty() || req.table.is_empty() {
        return Err(ApiError {
            status: 400,
            msg: "binlog-schema needs the upstream database and table".into(),
        });
    }
    let table = TableName::new(req.database.clone(), req.table.clone());
    let done = |schema: Option<String>| {
        json!({"result": true, "msg": "", "op": req.op, "task": spec.task,
               "source": spec.source_id, "table": table.to_string(), "schema": schema})
    };
    match req.op.as_str() {
        "list" => sync::table_schema(spec, store, &table)
            .await
            .map(done)
            .map_err(err),
        "update" => {
            let sql = new_definition(spec, &table, req).await?;
            sync::set_table_schema(spec, store, &table, &sql)
                .await
                .map(|s| done(Some(s)))
                .map_err(err)
        }
        "delete" => sync::delete_table_schema(spec, store, &table)
            .await
            .map(|()| done(None))
            .map_err(err),
        other => Err(ApiError {
            status: 400,
            msg: format!("unknown binlog-schema operation `{other}` (list, update, delete)"),
        }),
    }
}

/// The `CREATE TABLE` an update sets: given, or read from the upstream (`--from-source`) or
/// the target (`--from-target`).
async fn new_definition(
    spec: &SyncSpec,
    table: &TableName,
    req: &BinlogSchemaRequest,
) -> Result<String, ApiError> {
    let (ep, name) = match (&req.sql, req.from_source, req.from_target) {
        (Some(sql), false, false) if !sql.trim().is_empty() => return Ok(sql.clone()),
        (None, true, false) => (&spec.upstream, table.clone()),
        (None, false, true) => (
            &spec.downstream,
            spec.router.route(table).map_err(|e| ApiError {
                status: 400,
                msg: format!("routing {table}: {e}"),
            })?,
        ),
        _ => {
            return Err(ApiError {
                status: 400,
                msg: "binlog-schema update needs exactly one of: a schema file, --from-source, \
                      --from-target"
                    .into(),
            })
        }
    };
    let mut conn = ep
        .connect(vec!["SET SESSION sql_mode = ''".into()])
        .await
        .map_err(err)?;
    ferry_actors::schema::show_create_table(&mut conn, ep, &name)
        .await
        .map_err(err)
}
