//! The schema history of one (task, source): every tracked upstream table's columns and keys
//! as of each binlog position (DESIGN.md §4.5).
//!
//! Each change is recorded durably as a per-table *version* valid from a binlog position (the
//! position after the DDL that made it, or the start position for a seed). A (re)start loads,
//! for every table, the latest version valid at its resume position: a DDL recorded before a
//! crash but not yet committed downstream is read again and applied again, to the version
//! before it. Versions that can no longer be chosen are pruned.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_model::{BinlogPosition, TableName};
use ferry_relay::{CheckpointStore, SchemaVersion};
use tracing::info;

use crate::error::TaskError;
use crate::history::model::{ModelError, ParseMode, SchemaChange, SchemaSet, TableSchema};

/// The history of one (task, source), as of the position it was loaded at and the changes
/// applied since.
pub struct SchemaHistory<'a> {
    store: &'a dyn CheckpointStore,
    task: String,
    source: String,
    set: SchemaSet,
    next_seq: u64,
    /// Tables whose current definition the operator set (`binlog-schema update`).
    by_operator: HashSet<TableName>,
    /// Where the history was loaded (the start of this run of the Sync unit).
    loaded_at: BinlogPosition,
    /// Tables with a version anywhere in the history, before or during this run.
    ever: HashSet<TableName>,
    /// Versions stored (as of the load, the records and the prunes of this run).
    stored: AtomicUsize,
}

impl std::fmt::Debug for SchemaHistory<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaHistory")
            .field("task", &self.task)
            .field("source", &self.source)
            .field("tables", &self.set.len())
            .finish()
    }
}

/// For every table, the version valid at `at`: the one with the highest
/// `(valid_from, seq)` not after `at`.
pub fn versions_at<'v>(
    versions: &'v [SchemaVersion],
    at: &BinlogPosition,
) -> HashMap<&'v TableName, &'v SchemaVersion> {
    let mut out: HashMap<&TableName, &SchemaVersion> = HashMap::new();
    for v in versions.iter().filter(|v| v.valid_from <= *at) {
        match out.get(&v.table) {
            Some(best) if (&best.valid_from, best.seq) > (&v.valid_from, v.seq) => {}
            _ => {
                out.insert(&v.table, v);
            }
        }
    }
    out
}

/// The versions that no restart from `committed` on can choose: for each table, those
/// superseded by a later version that is itself valid at `committed`.
pub fn prunable(versions: &[SchemaVersion], committed: &BinlogPosition) -> Vec<u64> {
    let current = versions_at(versions, committed);
    versions
        .iter()
        .filter(|v| {
            current
                .get(&v.table)
                .is_some_and(|c| (&v.valid_from, v.seq) < (&c.valid_from, c.seq))
        })
        .map(|v| v.seq)
        .collect()
}

impl<'a> SchemaHistory<'a> {
    /// Loads the history of (task, source) as of `at`.
    pub fn load(
        store: &'a dyn CheckpointStore,
        task: &str,
        source: &str,
        at: &BinlogPosition,
    ) -> Result<Self, TaskError> {
        let versions = store.schema_versions(task, source)?;
        let mut set = SchemaSet::new(false);
        let mut by_operator = HashSet::new();
        for (table, v) in versions_at(&versions, at) {
            if v.by_operator {
                by_operator.insert(table.clone());
            }
            if let Some(json) = &v.schema {
                let schema: TableSchema = serde_json::from_value(json.clone()).map_err(|e| {
                    TaskError::Config(format!(
                        "the schema history of task `{task}` / source `{source}` holds an \
                         unreadable definition of {table}: {e}; set it with `ferryctl \
                         binlog-schema update`"
                    ))
                })?;
                set.insert(table.clone(), schema);
            }
        }
        let next_seq = versions.iter().map(|v| v.seq + 1).max().unwrap_or(1);
        let ever = versions.iter().map(|v| v.table.clone()).collect();
        Ok(Self {
            store,
            task: task.to_string(),
            source: source.to_string(),
            set,
            next_seq,
            by_operator,
            loaded_at: at.clone(),
            ever,
            stored: AtomicUsize::new(versions.len()),
        })
    }

    /// Where a first definition of `table` holds from: where this run started when the
    /// history never had the table (nothing about it happened since, or it would be there),
    /// else `None`. So a definition read at the table's first row is listed, and repaired by
    /// the operator, at the position the task resumes from.
    pub fn first_definition_from(&self, table: &TableName) -> Option<&BinlogPosition> {
        (!self.ever.contains(table)).then_some(&self.loaded_at)
    }

    /// True (once) when the operator set the current definition of a table: a statement the
    /// history cannot apply may already be in it.
    pub fn take_operator_definitions(&mut self) -> bool {
        let any = !self.by_operator.is_empty();
        self.by_operator.clear();
        any
    }

    /// The definition of `table` now, if the history has it.
    pub fn table(&self, table: &TableName) -> Option<&TableSchema> {
        self.set.get(table)
    }

    /// Every table the history has now.
    pub fn tables(&self) -> impl Iterator<Item = (&TableName, &TableSchema)> {
        self.set.iter()
    }

    /// Sets the definitions of `tables` (`None`: the table does not exist) from `at` on, and
    /// records them durably.
    pub fn record(
        &mut self,
        tables: Vec<(TableName, Option<TableSchema>)>,
        at: &BinlogPosition,
    ) -> Result<(), TaskError> {
        self.record_as(tables, at, false)
    }

    /// [`record`](Self::record) for the operator (`binlog-schema update|delete`).
    pub fn record_by_operator(
        &mut self,
        tables: Vec<(TableName, Option<TableSchema>)>,
        at: &BinlogPosition,
    ) -> Result<(), TaskError> {
        self.record_as(tables, at, true)
    }

    fn record_as(
        &mut self,
        tables: Vec<(TableName, Option<TableSchema>)>,
        at: &BinlogPosition,
        by_operator: bool,
    ) -> Result<(), TaskError> {
        if tables.is_empty() {
            return Ok(());
        }
        let mut versions = Vec::with_capacity(tables.len());
        for (table, schema) in tables {
            let json = schema
                .as_ref()
                .map(|s| serde_json::to_value(s).expect("plain data serializes"));
            match schema {
                Some(s) => {
                    self.set.insert(table.clone(), s);
                }
                None => {
                    self.set.remove(&table);
                }
            }
            if by_operator {
                self.by_operator.insert(table.clone());
            } else {
                self.by_operator.remove(&table);
            }
            self.ever.insert(table.clone());
            versions.push(SchemaVersion {
                table,
                seq: self.next_seq,
                valid_from: at.clone(),
                schema: json,
                by_operator,
            });
            self.next_seq += 1;
        }
        self.store
            .put_schema_versions(&self.task, &self.source, &versions)?;
        self.stored.fetch_add(versions.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Tables defined now, and table versions stored.
    pub fn size(&self) -> (usize, usize) {
        (self.set.len(), self.stored.load(Ordering::Relaxed))
    }

    /// Sets the definition of `table` to the version valid at `at`, as recorded (a table
    /// copied again from a later position: its changes before it were skipped).
    pub fn reload_table(
        &mut self,
        table: &TableName,
        at: &BinlogPosition,
    ) -> Result<(), TaskError> {
        let versions = self.store.schema_versions(&self.task, &self.source)?;
        let chosen = versions_at(&versions, at).remove(table);
        match chosen.and_then(|v| v.schema.as_ref()) {
            Some(json) => {
                let schema: TableSchema = serde_json::from_value(json.clone()).map_err(|e| {
                    TaskError::Config(format!(
                        "the schema history of task `{}` / source `{}` holds an unreadable \
                         definition of {table}: {e}; set it with `ferryctl binlog-schema update`",
                        self.task, self.source
                    ))
                })?;
                self.set.insert(table.clone(), schema);
            }
            None => {
                self.set.remove(table);
            }
        }
        info!(table = %table, at = %at, "schema history: the definition the table was copied with");
        Ok(())
    }

    /// Applies the DDL `sql` (default schema `default_schema`, written under the binlog
    /// `sql_mode` bits `mode`) to the history and records what it changed as valid from
    /// `after` (the position after the statement). Tables that become tracked without a
    /// definition the model can know are returned for the caller to read and
    /// [`record`](Self::record). On error nothing changes.
    pub fn apply_ddl(
        &mut self,
        sql: &str,
        default_schema: &str,
        mode: u64,
        tracked: &dyn Fn(&TableName) -> bool,
        after: &BinlogPosition,
    ) -> Result<Vec<TableName>, ModelError> {
        let mut next = self.set.clone();
        let changes = next.apply(sql, default_schema, ParseMode::from(mode), tracked)?;
        let mut record = Vec::new();
        let mut needs = Vec::new();
        for change in changes {
            match change {
                SchemaChange::Created(t) | SchemaChange::Altered(t) => {
                    let s = next.get(&t).cloned();
                    record.push((t, s));
                }
                SchemaChange::Renamed { from, to } => {
                    let s = next.get(&to).cloned();
                    record.push((from, None));
                    record.push((to, s));
                }
                SchemaChange::Dropped(t) => record.push((t, None)),
                SchemaChange::NeedsDefinition(t) => needs.push(t),
            }
        }
        for (t, _) in &record {
            info!(table = %t, at = %after, "schema history: new version");
        }
        self.set = next;
        if let Err(e) = self.record(record, after) {
            return Err(ModelError::Unsupported {
                statement: String::new(),
                reason: format!("recording the new schema version failed: {e}"),
            });
        }
        Ok(needs)
    }

    /// Forgets the versions no restart from `committed` on can choose.
    pub fn prune(&self, committed: &BinlogPosition) -> Result<(), TaskError> {
        let versions = self.store.schema_versions(&self.task, &self.source)?;
        let old = prunable(&versions, committed);
        if !old.is_empty() {
            self.store
                .delete_schema_versions(&self.task, &self.source, &old)?;
        }
        self.stored
            .store(versions.len() - old.len(), Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(p: u64) -> BinlogPosition {
        BinlogPosition {
            name: "binlog.000002".into(),
            pos: p,
        }
    }

    fn v(t: &str, seq: u64, from: u64) -> SchemaVersion {
        SchemaVersion {
            table: TableName::new("d", t),
            seq,
            valid_from: pos(from),
            schema: Some(serde_json::json!(seq)),
            by_operator: false,
        }
    }

    #[test]
    fn the_version_valid_at_a_position_is_the_latest_before_it() {
        let all = [
            v("a", 1, 100),
            v("a", 2, 300),
            v("b", 3, 200),
            v("a", 4, 300),
        ];
        let at = |p| {
            let m = versions_at(&all, &pos(p));
            let mut seqs: Vec<u64> = m.values().map(|v| v.seq).collect();
            seqs.sort();
            seqs
        };
        assert_eq!(at(50), Vec::<u64>::new());
        assert_eq!(at(100), [1]);
        assert_eq!(at(250), [1, 3]);
        // Recorded twice at the same place (a DDL read again after a crash): the later wins.
        assert_eq!(at(300), [3, 4]);
    }

    #[test]
    fn pruning_keeps_what_a_restart_can_choose() {
        let all = [
            v("a", 1, 100),
            v("a", 2, 300),
            v("b", 3, 200),
            v("a", 4, 500),
        ];
        assert_eq!(prunable(&all, &pos(250)), Vec::<u64>::new());
        assert_eq!(prunable(&all, &pos(300)), [1]);
        let mut p = prunable(&all, &pos(600));
        p.sort();
        assert_eq!(p, [1, 2]);
    }

    #[test]
    fn history_survives_a_restart_and_reads_the_version_of_the_resume_position() {
        let dir = tempfile::tempdir().unwrap();
        let store = ferry_relay::Store::open(dir.path()).unwrap();
        let t = TableName::new("d", "t");
        let tracked = |_: &TableName| true;
        {
            let mut h = SchemaHistory::load(&store, "task", "s", &pos(4)).unwrap();
            let schema = SchemaSet::parse_create_table(
                "CREATE TABLE `t` (`id` int NOT NULL, `a` int, PRIMARY KEY (`id`))",
                ParseMode::default(),
            )
            .unwrap();
            h.record(vec![(t.clone(), Some(schema))], &pos(100))
                .unwrap();
            let needs = h
                .apply_ddl(
                    "ALTER TABLE t ADD COLUMN b int",
                    "d",
                    0,
                    &tracked,
                    &pos(400),
                )
                .unwrap();
            assert!(needs.is_empty());
            assert_eq!(h.table(&t).unwrap().columns.len(), 3);
        }
        // Resuming before the ALTER: the version before it.
        let h = SchemaHistory::load(&store, "task", "s", &pos(300)).unwrap();
        assert_eq!(h.table(&t).unwrap().columns.len(), 2);
        let h = SchemaHistory::load(&store, "task", "s", &pos(400)).unwrap();
        assert_eq!(h.table(&t).unwrap().columns.len(), 3);
        // A failing statement changes nothing.
        let mut h = h;
        assert!(h
            .apply_ddl(
                "ALTER TABLE t DROP COLUMN nope",
                "d",
                0,
                &tracked,
                &pos(500)
            )
            .is_err());
        assert_eq!(h.table(&t).unwrap().columns.len(), 3);
        h.prune(&pos(450)).unwrap();
        assert_eq!(store.schema_versions("task", "s").unwrap().len(), 1);
    }

    #[test]
    fn a_table_copied_again_takes_the_version_recorded_at_its_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = ferry_relay::Store::open(dir.path()).unwrap();
        let t = TableName::new("d", "t");
        let def = |sql: &str| SchemaSet::parse_create_table(sql, ParseMode::default()).unwrap();
        let mut h = SchemaHistory::load(&store, "task", "s", &pos(4)).unwrap();
        h.record(
            vec![(t.clone(), Some(def("CREATE TABLE t (id int, a int)")))],
            &pos(100),
        )
        .unwrap();
        // Seeded by a later copy round at 500 (three columns there).
        h.record(
            vec![(
                t.clone(),
                Some(def("CREATE TABLE t (id int, a int, b int)")),
            )],
            &pos(500),
        )
        .unwrap();
        let mut h = SchemaHistory::load(&store, "task", "s", &pos(200)).unwrap();
        assert_eq!(h.table(&t).unwrap().columns.len(), 2);
        // A DDL before the copy position, applied to the history all the same.
        h.apply_ddl(
            "ALTER TABLE t ADD COLUMN z int, ADD COLUMN y int",
            "d",
            0,
            &|_| true,
            &pos(300),
        )
        .unwrap();
        assert_eq!(h.table(&t).unwrap().columns.len(), 4);
        h.reload_table(&t, &pos(600)).unwrap();
        assert_eq!(h.table(&t).unwrap().columns.len(), 3);
    }

    #[test]
    fn a_table_the_history_never_had_is_defined_from_the_runs_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = ferry_relay::Store::open(dir.path()).unwrap();
        let (t, u) = (TableName::new("d", "t"), TableName::new("d", "u"));
        let def =
            SchemaSet::parse_create_table("CREATE TABLE t (id int)", ParseMode::default()).unwrap();
        let mut h = SchemaHistory::load(&store, "task", "s", &pos(4)).unwrap();
        h.record(vec![(u.clone(), None)], &pos(50)).unwrap();
        let mut h = SchemaHistory::load(&store, "task", "s", &pos(100)).unwrap();
        assert_eq!(h.first_definition_from(&t), Some(&pos(100)));
        assert_eq!(
            h.first_definition_from(&u),
            None,
            "dropped at 50: it had a version"
        );
        h.record(vec![(t.clone(), Some(def))], &pos(100)).unwrap();
        assert_eq!(h.first_definition_from(&t), None);
        // A later run resuming at 100 sees it there.
        let h = SchemaHistory::load(&store, "task", "s", &pos(100)).unwrap();
        assert!(h.table(&t).is_some());
    }
}
