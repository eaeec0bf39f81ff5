//! `config task|source <name>`, `get-config`, and `config export`: the stored configurations
//! as YAML, passwords sealed with the daemon's key (as DM exports them encrypted with its
//! secret key). `config import` is `operate-source create` and `start-task` of those files
//! on a daemon with the same key.

use serde_json::{json, Value};

use super::{ApiError, Registry};

/// YAML of a stored configuration (its JSON form: the keys of the YAML files, every default
/// written out, the password sealed).
fn yaml(spec: &Value) -> Result<String, ApiError> {
    serde_saphyr::to_string(spec)
        .map_err(|e| ApiError::internal(format!("cannot write the configuration as YAML: {e}")))
}

impl Registry {
    fn task_yaml(&self, cfg: &ferry_config::TaskConfig) -> Result<String, ApiError> {
        let spec = cfg
            .to_stored_json(self.key.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        yaml(&spec)
    }

    fn source_yaml(&self, cfg: &ferry_config::SourceConfig) -> Result<String, ApiError> {
        let spec = cfg
            .to_stored_json(self.key.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        yaml(&spec)
    }

    /// `config task NAME` (DM's `GetCfgResponse`).
    pub fn task_config(&self, name: &str) -> Result<Value, ApiError> {
        let cfg = self.stored_task(name)?;
        Ok(json!({"result": true, "msg": "", "cfg": self.task_yaml(&cfg)?}))
    }

    /// `config source ID`.
    pub fn source_config_yaml(&self, id: &str) -> Result<Value, ApiError> {
        let cfg = self.stored_source(id)?;
        Ok(json!({"result": true, "msg": "", "cfg": self.source_yaml(&cfg)?}))
    }

    /// `config export`: every source and task.
    pub fn export_configs(&self) -> Result<Value, ApiError> {
        let sources: Vec<ferry_config::SourceConfig> = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|s| s.config.clone())
            .collect();
        let tasks: Vec<ferry_config::TaskConfig> = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|t| t.config.clone())
            .collect();
        let mut s = Vec::with_capacity(sources.len());
        for c in &sources {
            s.push(json!({"source": c.source_id, "cfg": self.source_yaml(c)?}));
        }
        let mut t = Vec::with_capacity(tasks.len());
        for c in &tasks {
            t.push(json!({"task": c.name, "cfg": self.task_yaml(c)?}));
        }
        Ok(json!({"result": true, "msg": "", "sources": s, "tasks": t}))
    }
}

#[cfg(test)]
mod tests {
    use super::yaml;

    fn key() -> ferry_config::SecretKey {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, ferry_config::SecretKey::generate_hex()).unwrap();
        ferry_config::SecretKey::load(&p).unwrap()
    }

    const TASK: &str = "name: t1\ntask-mode: all\n\
        target-database: {host: 127.0.0.1, port: 4000, user: root, password: 'Pw-Marker-1'}\n\
        routes:\n  r1: {schema-pattern: shop, target-schema: shop2}\n\
        block-allow-list:\n  bal: {do-dbs: [shop]}\n\
        mysql-instances:\n  - source-id: s1\n    block-allow-list: bal\n    route-rules: [r1]\n";

    const SOURCE: &str = "source-id: s1\nenable-relay: true\n\
        from: {host: 127.0.0.1, port: 3306, user: root, password: 'Pw-Marker-2'}\n\
        purge: {interval: 60, expires: 24}\n";

    #[test]
    fn exported_yaml_is_sealed_and_reads_back_the_same_with_the_key() {
        let key = key();
        let env = |_: &str| None;
        let task = ferry_config::parse_task_str(TASK, "t.yaml", &env, None)
            .unwrap()
            .config;
        let text = yaml(&task.to_stored_json(Some(&key)).unwrap()).unwrap();
        assert!(
            !text.contains("Pw-Marker-1") && text.contains("ferry:v1:"),
            "{text}"
        );
        let back = ferry_config::parse_task_str(&text, "export.yaml", &env, Some(&key))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .config;
        assert_eq!(back, task);

        let source = ferry_config::parse_source_str(SOURCE, "s.yaml", &env, None)
            .unwrap()
            .config;
        let text = yaml(&source.to_stored_json(Some(&key)).unwrap()).unwrap();
        assert!(!text.contains("Pw-Marker-2"), "{text}");
        let back = ferry_config::parse_source_str(&text, "export.yaml", &env, Some(&key))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .config;
        assert_eq!(back, source);
        // Another key cannot open it.
        assert!(
            ferry_config::parse_source_str(&text, "export.yaml", &env, Some(&self::key())).is_err()
        );
    }
}
