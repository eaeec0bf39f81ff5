//! The checkpoint store: sources, tasks, and the full phase's progress.

use ferry_model::{BinlogPosition, Chunk, ChunkId, Location, Stage, TableName};
use serde::{Deserialize, Serialize};

use crate::store::{key_part, Store, StoreError};

/// A registered source (`operate-source create`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// `source-id`.
    pub id: String,
    /// The source configuration, as the daemon serialized it (JSON).
    pub spec: serde_json::Value,
}

/// A started task and its last known stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Task `name`.
    pub name: String,
    /// The task configuration, as the daemon serialized it (JSON).
    pub spec: serde_json::Value,
    /// Stage to restore after a daemon restart (`Running` tasks resume by themselves).
    pub stage: Stage,
    /// The error that paused the task, if any.
    pub error: Option<String>,
    /// Sources whose subtask is paused while others may run (`pause-task -s`); restored
    /// paused, the others running. Empty: every subtask has `stage`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paused_sources: Vec<String>,
}

/// A committed full-phase chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkDone {
    /// Which chunk.
    pub id: ChunkId,
    /// Rows it held.
    pub rows: u64,
    /// Bytes sent for it.
    pub bytes: u64,
}

/// Everything the full phase of one (task, source) has recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FullPhaseState {
    /// Start position taken before the first snapshot (the hand-off point).
    pub start: Option<Location>,
    /// The chunk plan, once made (fixed for the life of the task).
    pub plan: Option<Vec<Chunk>>,
    /// Chunks committed downstream.
    pub done: Vec<ChunkDone>,
    /// True once every chunk of the plan is committed.
    pub finished: bool,
    /// Upstream position read after the last chunk was committed: the incremental phase
    /// replays from `start` in safe mode until it passes this point.
    pub end: Option<Location>,
    /// The copy rounds, in order: the first at `start`; each later one copies again, from
    /// snapshots taken at its own position, the tables that a DDL changed under the copy.
    #[serde(default)]
    pub rounds: Vec<CopyRound>,
}

/// A table as a copy round found it at its start position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedTable {
    /// The upstream table.
    pub table: TableName,
    /// The storage engine's identity of the table behind the name (InnoDB's table id), when
    /// readable: a table swapped in under the name (`RENAME`), rebuilt or truncated has
    /// another.
    pub id: Option<u64>,
    /// Its definition (`SHOW CREATE TABLE`, without the `AUTO_INCREMENT=` counter).
    pub shape: String,
    /// Its target existed before the full phase created any (the user made it): copying
    /// again empties it instead of re-creating it.
    #[serde(default)]
    pub precreated: bool,
}

/// One round of the full phase: `tables` are copied from snapshots taken at `start`, and
/// replication applies their changes from `start` on (earlier ones are in the copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRound {
    /// Where the round's snapshots were taken.
    pub start: Location,
    /// The tables it copies.
    pub tables: Vec<CopiedTable>,
    /// True once the earlier copies of its tables were removed (targets re-created, their
    /// chunks forgotten locally and in the downstream ledger).
    pub reset_done: bool,
}

/// Where a task still needs a source's binlog (relay-log purges keep it, also while the
/// task is paused, copying, or not yet restored after a daemon restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeededRecord {
    /// Task name.
    pub task: String,
    /// Source id.
    pub source: String,
    /// The lowest position the task may read again.
    pub pos: BinlogPosition,
}

/// One version of an upstream table's definition in a (task, source)'s schema history: the
/// table as it is from binlog position `valid_from` on, until a later version of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// The upstream table.
    pub table: TableName,
    /// Order of recording (versions with the same `valid_from`: the higher wins).
    pub seq: u64,
    /// From where in the binlog it holds.
    pub valid_from: BinlogPosition,
    /// The definition (the actors' table model, as JSON); `None`: the table does not exist
    /// from there on.
    pub schema: Option<serde_json::Value>,
    /// Set by the operator (`binlog-schema update`): the statement met at `valid_from` may
    /// already be in it.
    #[serde(default)]
    pub by_operator: bool,
}

/// Durable, domain-level state operations. Every write is synced before it returns.
pub trait CheckpointStore: Send + Sync {
    /// Registers or replaces a source.
    fn put_source(&self, rec: &SourceRecord) -> Result<(), StoreError>;
    /// Removes a source.
    fn delete_source(&self, id: &str) -> Result<(), StoreError>;
    /// All registered sources, by id.
    fn sources(&self) -> Result<Vec<SourceRecord>, StoreError>;
    /// Registers or updates a task.
    fn put_task(&self, rec: &TaskRecord) -> Result<(), StoreError>;
    /// Removes a task's record but keeps its checkpoints (DM's `stop-task`).
    fn delete_task_record(&self, name: &str) -> Result<(), StoreError>;
    /// All tasks, by name.
    fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError>;
    /// Records the full phase's start position.
    fn put_full_start(&self, task: &str, source: &str, at: &Location) -> Result<(), StoreError>;
    /// Records the chunk plan.
    fn put_full_plan(&self, task: &str, source: &str, plan: &[Chunk]) -> Result<(), StoreError>;
    /// Records a committed chunk.
    fn put_chunk_done(&self, task: &str, source: &str, done: &ChunkDone) -> Result<(), StoreError>;
    /// Records the copy rounds (all of them, replacing what was recorded).
    fn put_copy_rounds(
        &self,
        task: &str,
        source: &str,
        rounds: &[CopyRound],
    ) -> Result<(), StoreError>;
    /// Forgets the committed chunks of `tables` (their copy starts again).
    fn delete_chunks_done(
        &self,
        task: &str,
        source: &str,
        tables: &[TableName],
    ) -> Result<(), StoreError>;
    /// Marks the full phase of (task, source) finished.
    fn put_full_finished(&self, task: &str, source: &str) -> Result<(), StoreError>;
    /// Records where replication leaves safe mode: the upstream position read after the full
    /// phase finished, or (an `incremental` task) the checkpoint `start-task --start-time`
    /// went back from.
    fn put_full_end(&self, task: &str, source: &str, at: &Location) -> Result<(), StoreError>;
    /// Reads the full phase's state.
    fn full_phase(&self, task: &str, source: &str) -> Result<FullPhaseState, StoreError>;
    /// Drops every checkpoint of a task (`start-task --remove-meta`), keeping its record.
    fn clear_checkpoints(&self, task: &str) -> Result<(), StoreError>;
    /// Records where `rec.task` still needs `rec.source`'s binlog.
    fn put_needed(&self, rec: &NeededRecord) -> Result<(), StoreError>;
    /// Forgets what `task` needs (stopped).
    fn delete_needed(&self, task: &str) -> Result<(), StoreError>;
    /// Everything recorded by [`put_needed`](Self::put_needed).
    fn needed(&self) -> Result<Vec<NeededRecord>, StoreError>;
    /// Records versions of the schema history of (task, source), all at once.
    fn put_schema_versions(
        &self,
        task: &str,
        source: &str,
        versions: &[SchemaVersion],
    ) -> Result<(), StoreError>;
    /// The schema history of (task, source), in `seq` order.
    fn schema_versions(&self, task: &str, source: &str) -> Result<Vec<SchemaVersion>, StoreError>;
    /// Forgets the versions `seqs` of (task, source).
    fn delete_schema_versions(
        &self,
        task: &str,
        source: &str,
        seqs: &[u64],
    ) -> Result<(), StoreError>;
}

fn needed_prefix(task: &str) -> String {
    format!("needed/{}/", key_part(task))
}

fn source_key(id: &str) -> String {
    format!("source/{}", key_part(id))
}

fn task_key(name: &str) -> String {
    format!("task/{}", key_part(name))
}

fn cp_prefix(task: &str) -> String {
    format!("cp/{}/", key_part(task))
}

fn full_prefix(task: &str, source: &str) -> String {
    format!("{}full/{}/", cp_prefix(task), key_part(source))
}

fn schema_prefix(task: &str, source: &str) -> String {
    format!("{}schema/{}/", cp_prefix(task), key_part(source))
}

fn chunk_key(task: &str, source: &str, id: &ChunkId) -> String {
    format!(
        "{}done/{}/{}/{:010}",
        full_prefix(task, source),
        key_part(&id.table.schema),
        key_part(&id.table.table),
        id.ordinal
    )
}

impl CheckpointStore for Store {
    fn put_source(&self, rec: &SourceRecord) -> Result<(), StoreError> {
        self.put(&source_key(&rec.id), rec)
    }

    fn delete_source(&self, id: &str) -> Result<(), StoreError> {
        self.delete(&source_key(id))
    }

    fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        self.scan_values::<SourceRecord>("source/")
    }

    fn put_task(&self, rec: &TaskRecord) -> Result<(), StoreError> {
        self.put(&task_key(&rec.name), rec)
    }

    fn delete_task_record(&self, name: &str) -> Result<(), StoreError> {
        self.delete(&task_key(name))
    }

    fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.scan_values::<TaskRecord>("task/")
    }

    fn put_full_start(&self, task: &str, source: &str, at: &Location) -> Result<(), StoreError> {
        self.put(&format!("{}start", full_prefix(task, source)), at)
    }

    fn put_full_plan(&self, task: &str, source: &str, plan: &[Chunk]) -> Result<(), StoreError> {
        self.put(&format!("{}plan", full_prefix(task, source)), &plan)
    }

    fn put_chunk_done(&self, task: &str, source: &str, done: &ChunkDone) -> Result<(), StoreError> {
        self.put(&chunk_key(task, source, &done.id), done)
    }

    fn put_copy_rounds(
        &self,
        task: &str,
        source: &str,
        rounds: &[CopyRound],
    ) -> Result<(), StoreError> {
        self.put(&format!("{}rounds", full_prefix(task, source)), &rounds)
    }

    fn delete_chunks_done(
        &self,
        task: &str,
        source: &str,
        tables: &[TableName],
    ) -> Result<(), StoreError> {
        for t in tables {
            self.delete_prefix(&format!(
                "{}done/{}/{}/",
                full_prefix(task, source),
                key_part(&t.schema),
                key_part(&t.table)
            ))?;
        }
        Ok(())
    }

    fn put_full_finished(&self, task: &str, source: &str) -> Result<(), StoreError> {
        self.put(&format!("{}finished", full_prefix(task, source)), &true)
    }

    fn put_full_end(&self, task: &str, source: &str, at: &Location) -> Result<(), StoreError> {
        self.put(&format!("{}end", full_prefix(task, source)), at)
    }

    fn full_phase(&self, task: &str, source: &str) -> Result<FullPhaseState, StoreError> {
        let p = full_prefix(task, source);
        Ok(FullPhaseState {
            start: self.get(&format!("{p}start"))?,
            plan: self.get(&format!("{p}plan"))?,
            done: self.scan_values::<ChunkDone>(&format!("{p}done/"))?,
            finished: self.get::<bool>(&format!("{p}finished"))?.unwrap_or(false),
            end: self.get(&format!("{p}end"))?,
            rounds: self
                .get::<Vec<CopyRound>>(&format!("{p}rounds"))?
                .unwrap_or_default(),
        })
    }

    fn clear_checkpoints(&self, task: &str) -> Result<(), StoreError> {
        self.delete_prefix(&cp_prefix(task))?;
        self.delete_needed(task)
    }

    fn put_needed(&self, rec: &NeededRecord) -> Result<(), StoreError> {
        self.put(
            &format!("{}{}", needed_prefix(&rec.task), key_part(&rec.source)),
            rec,
        )
    }

    fn delete_needed(&self, task: &str) -> Result<(), StoreError> {
        self.delete_prefix(&needed_prefix(task))
    }

    fn needed(&self) -> Result<Vec<NeededRecord>, StoreError> {
        self.scan_values::<NeededRecord>("needed/")
    }

    fn put_schema_versions(
        &self,
        task: &str,
        source: &str,
        versions: &[SchemaVersion],
    ) -> Result<(), StoreError> {
        let p = schema_prefix(task, source);
        let entries = versions
            .iter()
            .map(|v| (format!("{p}{:020}", v.seq), v))
            .collect::<Vec<_>>();
        self.put_all(&entries)
    }

    fn schema_versions(&self, task: &str, source: &str) -> Result<Vec<SchemaVersion>, StoreError> {
        self.scan_values::<SchemaVersion>(&schema_prefix(task, source))
    }

    fn delete_schema_versions(
        &self,
        task: &str,
        source: &str,
        seqs: &[u64],
    ) -> Result<(), StoreError> {
        let p = schema_prefix(task, source);
        for seq in seqs {
            self.delete(&format!("{p}{seq:020}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::TableName;

    #[test]
    fn needed_positions_survive_reopen_and_go_with_the_task() {
        let dir = tempfile::tempdir().unwrap();
        let rec = |task: &str, source: &str, pos: u64| NeededRecord {
            task: task.into(),
            source: source.into(),
            pos: BinlogPosition::new("binlog.000002", pos).unwrap(),
        };
        {
            let s = Store::open(dir.path()).unwrap();
            s.put_needed(&rec("t", "up", 4)).unwrap();
            s.put_needed(&rec("t", "up", 900)).unwrap();
            s.put_needed(&rec("t", "up/2", 4)).unwrap();
            s.put_needed(&rec("t2", "up", 7)).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let mut all = s.needed().unwrap();
        all.sort_by(|a, b| (&a.task, &a.source).cmp(&(&b.task, &b.source)));
        assert_eq!(
            all,
            vec![rec("t", "up", 900), rec("t", "up/2", 4), rec("t2", "up", 7)]
        );
        s.clear_checkpoints("t").unwrap();
        assert_eq!(s.needed().unwrap(), vec![rec("t2", "up", 7)]);
        s.delete_needed("t2").unwrap();
        assert!(s.needed().unwrap().is_empty());
    }

    #[test]
    fn schema_versions_are_kept_in_order_and_go_with_the_task() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let v = |seq: u64, pos: u64, schema: Option<serde_json::Value>| SchemaVersion {
            table: TableName::new("d", "t"),
            seq,
            valid_from: BinlogPosition {
                name: "binlog.000001".into(),
                pos,
            },
            schema,
            by_operator: false,
        };
        s.put_schema_versions(
            "t1",
            "s",
            &[
                v(2, 200, None),
                v(10, 300, Some(serde_json::json!({"c": 1}))),
            ],
        )
        .unwrap();
        s.put_schema_versions("t1", "s", &[v(1, 100, Some(serde_json::json!({})))])
            .unwrap();
        s.put_schema_versions("t2", "s", &[v(1, 5, None)]).unwrap();
        let got = s.schema_versions("t1", "s").unwrap();
        assert_eq!(got.iter().map(|v| v.seq).collect::<Vec<_>>(), [1, 2, 10]);
        assert_eq!(got[2], v(10, 300, Some(serde_json::json!({"c": 1}))));
        s.delete_schema_versions("t1", "s", &[2]).unwrap();
        assert_eq!(s.schema_versions("t1", "s").unwrap().len(), 2);
        assert!(s.schema_versions("t1", "other").unwrap().is_empty());
        s.clear_checkpoints("t1").unwrap();
        assert!(s.schema_versions("t1", "s").unwrap().is_empty());
        assert_eq!(s.schema_versions("t2", "s").unwrap().len(), 1);
    }

    fn chunk(t: &str, n: u32) -> Chunk {
        Chunk {
            id: ChunkId {
                table: TableName::new("db/1", t),
                ordinal: n,
            },
            lower: None,
            upper: None,
            estimated_rows: 10,
        }
    }

    #[test]
    fn state_survives_reopen_and_tasks_do_not_bleed_into_each_other() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.put_source(&SourceRecord {
                id: "up".into(),
                spec: serde_json::json!({"a": 1}),
            })
            .unwrap();
            for task in ["t", "t2"] {
                s.put_task(&TaskRecord {
                    name: task.into(),
                    spec: serde_json::json!({}),
                    stage: Stage::Running,
                    error: None,
                    paused_sources: Vec::new(),
                })
                .unwrap();
                s.put_full_start(
                    task,
                    "up",
                    &Location {
                        binlog: BinlogPosition::new("binlog.000001", 4).unwrap(),
                        gtid: None,
                    },
                )
                .unwrap();
                s.put_full_plan(task, "up", &[chunk("a", 0), chunk("a", 1)])
                    .unwrap();
                s.put_chunk_done(
                    task,
                    "up",
                    &ChunkDone {
                        id: chunk("a", 1).id,
                        rows: 5,
                        bytes: 50,
                    },
                )
                .unwrap();
            }
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.sources().unwrap().len(), 1);
        let st = s.full_phase("t", "up").unwrap();
        assert_eq!(st.plan.unwrap().len(), 2);
        assert_eq!(st.done.len(), 1);
        assert_eq!(st.done[0].id.ordinal, 1);
        assert!(!st.finished);
        s.clear_checkpoints("t").unwrap();
        s.delete_task_record("t").unwrap();
        assert_eq!(s.full_phase("t", "up").unwrap(), FullPhaseState::default());
        assert_eq!(s.tasks().unwrap().len(), 1);
        assert_eq!(s.full_phase("t2", "up").unwrap().done.len(), 1);
    }

    #[test]
    fn copy_rounds_and_forgotten_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        for (t, n) in [("a", 0), ("a", 1), ("ab", 0)] {
            s.put_chunk_done(
                "t",
                "up",
                &ChunkDone {
                    id: chunk(t, n).id,
                    rows: 1,
                    bytes: 1,
                },
            )
            .unwrap();
        }
        // "a" does not reach the chunks of "ab".
        s.delete_chunks_done("t", "up", &[TableName::new("db/1", "a")])
            .unwrap();
        let done = s.full_phase("t", "up").unwrap().done;
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].id.table.table, "ab");
        let round = CopyRound {
            start: Location {
                binlog: BinlogPosition::new("binlog.000002", 400).unwrap(),
                gtid: None,
            },
            tables: vec![CopiedTable {
                table: TableName::new("d", "a"),
                id: Some(7),
                shape: "CREATE TABLE `a` (`id` int)".into(),
                precreated: false,
            }],
            reset_done: false,
        };
        s.put_copy_rounds("t", "up", std::slice::from_ref(&round))
            .unwrap();
        assert_eq!(s.full_phase("t", "up").unwrap().rounds, vec![round]);
        assert!(s.full_phase("t2", "up").unwrap().rounds.is_empty());
    }
}
