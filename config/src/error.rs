//! Errors and warnings about configuration files.
//!
//! Every problem names the file (`origin`), the key path (`mysql-instances[0].meta.binlog-name`)
//! and, when the key appears in the file, its line and column (1-based, in the text as the
//! user wrote it, before `${NAME}` substitution).

use std::fmt;

/// What kind of problem a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The text is not valid YAML.
    Syntax,
    /// A key that DM does not know (parsing is strict, as DM's `UnmarshalStrict`).
    UnknownKey,
    /// A key appears twice in one mapping.
    DuplicateKey,
    /// A value has the wrong type (e.g. text where a number is expected).
    InvalidType,
    /// A required key is missing or empty.
    Missing,
    /// A value is of the right type but not allowed (enum value, range, format, pattern).
    InvalidValue,
    /// An instance refers to a rule or unit configuration that is not defined.
    UndefinedReference,
    /// A globally defined rule is referenced by no instance (DM's `ErrConfigGlobalConfigsUnused`).
    UnusedRule,
    /// A rule name appears twice in one instance's list.
    DuplicateReference,
    /// Two keys that exclude each other are both set.
    Conflict,
    /// A key that DM removed (e.g. `column-mappings`).
    Removed,
    /// A `${NAME}` placeholder names an unset environment variable.
    UnsetVariable,
    /// An encrypted value cannot be decrypted.
    Secret,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name (or any label given for text that did not come from a file).
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column (in characters), when known.
    pub column: Option<u64>,
    /// Key path, e.g. `mysql-instances[0].mydumper-thread`; empty for the whole document.
    pub path: String,
    /// The kind of problem.
    pub kind: ErrorKind,
    /// Human-readable description. Never contains a secret.
    pub message: String,
}

impl ConfigError {
    /// An error with no position, e.g. a file that cannot be read.
    pub fn whole_file(origin: &str, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            origin: origin.to_string(),
            line: None,
            column: None,
            path: String::new(),
            kind,
            message: message.into(),
        }
    }
}

fn write_place(
    f: &mut fmt::Formatter<'_>,
    origin: &str,
    line: Option<u64>,
    column: Option<u64>,
    path: &str,
) -> fmt::Result {
    write!(f, "{origin}")?;
    if let Some(line) = line {
        write!(f, ":{line}")?;
        if let Some(column) = column {
            write!(f, ":{column}")?;
        }
    }
    write!(f, ": ")?;
    if !path.is_empty() {
        write!(f, "{path}: ")?;
    }
    Ok(())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.origin, self.line, self.column, &self.path)?;
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// All the errors found in one file (or one batch of files), reported together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// A single error.
    pub fn one(error: ConfigError) -> Self {
        Self(vec![error])
    }

    /// The errors, in file order where positions are known.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by position (errors without a line last, stable otherwise).
    pub(crate) fn sort(&mut self) {
        self.0
            .sort_by_key(|e| (e.line.unwrap_or(u64::MAX), e.column.unwrap_or(0)));
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        Self::one(e)
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A non-fatal remark about a configuration file: a deprecated key, an ignored value.
/// Returned with the loaded configuration; the caller logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file name.
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Key path.
    pub path: String,
    /// Human-readable description.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.origin, self.line, self.column, &self.path)?;
        write!(f, "{}", self.message)
    }
}
