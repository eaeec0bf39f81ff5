//! Where each task still needs each source's binlog (what relay-log purges keep).

use std::collections::HashMap;
use std::sync::Arc;

use ferry_model::BinlogPosition;

/// The lowest binlog position each (task, source) still needs: the start of its last batch,
/// or of its full phase. Relay-log purges never delete past the minimum for a source.
///
/// With a store ([`NeededPositions::persistent`]) the positions are also recorded durably
/// (once per binlog file: the first position seen in a file, which is never after the
/// current one), so that a task that is paused, copying, or not yet restored after a daemon
/// restart keeps what it needs.
#[derive(Default)]
pub struct NeededPositions {
    /// Per (task, source): the position needed, and the file last recorded durably.
    inner: std::sync::Mutex<HashMap<(String, String), Needed>>,
    store: Option<Arc<dyn ferry_relay::CheckpointStore>>,
}

#[derive(Debug)]
struct Needed {
    pos: BinlogPosition,
    recorded_file: Option<ferry_model::FileName>,
}

impl std::fmt::Debug for NeededPositions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeededPositions")
            .field("inner", &*self.lock())
            .field("persistent", &self.store.is_some())
            .finish()
    }
}

impl NeededPositions {
    /// Positions recorded in `store`, loaded from what it already holds.
    pub fn persistent(
        store: Arc<dyn ferry_relay::CheckpointStore>,
    ) -> Result<Self, ferry_relay::StoreError> {
        let inner = store
            .needed()?
            .into_iter()
            .map(|rec| {
                let needed = Needed {
                    recorded_file: Some(rec.pos.name.clone()),
                    pos: rec.pos,
                };
                ((rec.task, rec.source), needed)
            })
            .collect();
        Ok(Self {
            inner: std::sync::Mutex::new(inner),
            store: Some(store),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Needed>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what `task` needs of `source` (durably when the file changed).
    pub fn set(&self, task: &str, source: &str, pos: &BinlogPosition) {
        if pos.name.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let entry = inner
            .entry((task.to_string(), source.to_string()))
            .or_insert_with(|| Needed {
                pos: pos.clone(),
                recorded_file: None,
            });
        entry.pos = pos.clone();
        let Some(store) = &self.store else {
            return;
        };
        if entry.recorded_file.as_ref() == Some(&pos.name) {
            return;
        }
        let rec = ferry_relay::NeededRecord {
            task: task.to_string(),
            source: source.to_string(),
            pos: pos.clone(),
        };
        match store.put_needed(&rec) {
            Ok(()) => entry.recorded_file = Some(pos.name.clone()),
            Err(e) => tracing::warn!(task, source, error = %e,
                "cannot record the needed binlog position; relay purges keep it only while this daemon runs"),
        }
    }

    /// Forgets a task (stopped).
    pub fn remove_task(&self, task: &str) {
        self.lock().retain(|(t, _), _| t != task);
        if let Some(store) = &self.store {
            if let Err(e) = store.delete_needed(task) {
                tracing::warn!(task, error = %e, "cannot forget the needed binlog positions");
            }
        }
    }

    /// The lowest position needed of `source`.
    pub fn min_for(&self, source: &str) -> Option<BinlogPosition> {
        self.lock()
            .iter()
            .filter(|((_, s), _)| s == source)
            .map(|(_, n)| n.pos.clone())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_relay::CheckpointStore;

    fn at(file: &str, pos: u64) -> BinlogPosition {
        BinlogPosition::new(file, pos).unwrap()
    }

    #[test]
    fn needed_positions_are_recorded_once_per_file_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(ferry_relay::Store::open(dir.path()).unwrap());
        {
            let n = NeededPositions::persistent(store.clone()).unwrap();
            n.set("t", "up", &at("bin.000001", 100));
            n.set("t", "up", &at("bin.000001", 900));
            n.set("t2", "up", &at("bin.000002", 4));
            assert_eq!(n.min_for("up"), Some(at("bin.000001", 900)));
            // The durable record is the first position seen in the file: never after the
            // current one.
            let mut rec = store.needed().unwrap();
            rec.sort_by(|a, b| a.task.cmp(&b.task));
            assert_eq!(rec[0].pos, at("bin.000001", 100));
            n.set("t", "up", &at("bin.000003", 50));
        }
        let n = NeededPositions::persistent(store.clone()).unwrap();
        assert_eq!(n.min_for("up"), Some(at("bin.000002", 4)));
        n.remove_task("t2");
        assert_eq!(n.min_for("up"), Some(at("bin.000003", 50)));
        let again = NeededPositions::persistent(store).unwrap();
        assert_eq!(again.min_for("up"), Some(at("bin.000003", 50)));
        assert_eq!(again.min_for("other"), None);
    }
}
