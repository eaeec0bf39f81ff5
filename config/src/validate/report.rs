//! [`Report`]: the errors and warnings of one file, each placed at its key.

use crate::env::ColumnMap;
use crate::error::{ConfigError, ConfigErrors, ErrorKind, Warning};
use crate::yaml::KeyIndex;

/// Collects the errors and warnings of one file, placing each at its key.
pub(crate) struct Report<'a> {
    origin: &'a str,
    pub(super) index: &'a KeyIndex,
    columns: &'a ColumnMap,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<Warning>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(origin: &'a str, index: &'a KeyIndex, columns: &'a ColumnMap) -> Self {
        Self {
            origin,
            index,
            columns,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn locate(&self, path: &str) -> (Option<u64>, Option<u64>) {
        match self.index.nearest_position(path) {
            Some(p) => (
                Some(p.line),
                Some(self.columns.original_column(p.line, p.column)),
            ),
            None => (None, None),
        }
    }

    /// Records an error at `path` (placed at the key, or its nearest present ancestor).
    pub(crate) fn error(
        &mut self,
        path: impl Into<String>,
        kind: ErrorKind,
        msg: impl Into<String>,
    ) {
        let path = path.into();
        let (line, column) = self.locate(&path);
        self.errors.push(ConfigError {
            origin: self.origin.to_string(),
            line,
            column,
            path,
            kind,
            message: msg.into(),
        });
    }

    /// Records a warning at `path`.
    pub(crate) fn warn(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        let path = path.into();
        let (line, column) = self.locate(&path);
        self.warnings.push(Warning {
            origin: self.origin.to_string(),
            line,
            column,
            path,
            message: msg.into(),
        });
    }

    /// Warns that `path` is deprecated, if the file has it.
    pub(super) fn deprecated(&mut self, path: &str, present: bool, advice: &str) {
        if present {
            self.warn(path, format!("deprecated and ignored by Ferry{advice}"));
        }
    }

    /// The errors, sorted by position, or the warnings when there is none.
    pub(crate) fn finish(self) -> Result<Vec<Warning>, ConfigErrors> {
        let mut warnings = self.warnings;
        warnings.sort_by_key(|w| (w.line.unwrap_or(u64::MAX), w.column.unwrap_or(0)));
        if self.errors.is_empty() {
            Ok(warnings)
        } else {
            let mut e = ConfigErrors(self.errors);
            e.sort();
            Err(e)
        }
    }
}
