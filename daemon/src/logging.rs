//! ferryd's log: text or JSON lines to standard error or to a file, at a level that a reload
//! changes in place, into a file that a reload reopens (after logrotate moved it away).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

/// What a reload can change in the running log.
pub struct Logging {
    filter: reload::Handle<EnvFilter, Registry>,
    writer: LogWriter,
}

/// The filter for `level` (`debug`, `info`, ...); the MySQL driver's own logs above `warn` are
/// left out.
fn filter(level: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(format!("{level},mysql_async=warn"))
        .map_err(|e| format!("log-level `{level}`: {e}"))
}

impl Logging {
    /// Installs the global subscriber: `level`, to `file` (appended) or standard error, as
    /// JSON lines when `json`.
    pub fn init(level: &str, file: Option<&Path>, json: bool) -> Result<Self, String> {
        let (filter, handle) = reload::Layer::new(filter(level)?);
        let writer = LogWriter::open(file)?;
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(writer.clone());
        let fmt = if json {
            fmt.json().boxed()
        } else {
            fmt.with_ansi(file.is_none()).boxed()
        };
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            filter: handle,
            writer,
        })
    }

    /// Logs at `level` from now on.
    pub fn set_level(&self, level: &str) -> Result<(), String> {
        let f = filter(level)?;
        self.filter
            .reload(f)
            .map_err(|e| format!("changing the log level: {e}"))
    }

    /// Reopens the log file (a new file at its path after logrotate moved the old one).
    pub fn reopen(&self) -> Result<(), String> {
        self.writer.reopen()
    }
}

/// Standard error, or a file that can be reopened.
#[derive(Clone)]
pub struct LogWriter {
    file: Option<Arc<LogFile>>,
}

struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
}

fn open_append(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("log-file {}: {e}", path.display()))
}

impl LogWriter {
    fn open(path: Option<&Path>) -> Result<Self, String> {
        let file = match path {
            Some(p) => Some(Arc::new(LogFile {
                path: p.to_path_buf(),
                file: Mutex::new(open_append(p)?),
            })),
            None => None,
        };
        Ok(Self { file })
    }

    fn reopen(&self) -> Result<(), String> {
        let Some(f) = &self.file else {
            return Ok(());
        };
        let fresh = open_append(&f.path)?;
        *f.file.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }
}

/// One log line's writer: standard error, or the log file held for the line.
pub enum Sink<'a> {
    /// Standard error.
    Stderr(io::Stderr),
    /// The log file.
    File(MutexGuard<'a, File>),
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stderr(s) => s.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stderr(s) => s.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Sink<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match &self.file {
            Some(f) => Sink::File(f.file.lock().unwrap_or_else(|e| e.into_inner())),
            None => Sink::Stderr(io::stderr()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_log_writes_to_the_new_file_at_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferryd.log");
        let w = LogWriter::open(Some(&path)).unwrap();
        w.make_writer().write_all(b"one\n").unwrap();
        let moved = dir.path().join("ferryd.log.1");
        std::fs::rename(&path, &moved).unwrap();
        w.make_writer().write_all(b"two\n").unwrap();
        w.reopen().unwrap();
        w.make_writer().write_all(b"three\n").unwrap();
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), "one\ntwo\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
    }

    #[test]
    fn a_bad_level_is_refused_with_its_text() {
        let e = filter("ferry=loud").unwrap_err();
        assert!(e.contains("ferry=loud"), "{e}");
    }
}
