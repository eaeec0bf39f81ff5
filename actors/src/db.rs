//! Connections to upstream and downstream servers, server identification and binlog positions.

use std::time::Duration;

use ferry_model::{BinlogPosition, GtidSet, Location};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, SslOpts};

use crate::error::{Side, TaskError};

/// Where and how to connect: the resolved form of DM's `from` / `target-database`.
#[derive(Clone)]
pub struct Endpoint {
    /// Upstream or downstream.
    pub side: Side,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Plaintext password (decrypted); never logged.
    pub password: String,
    /// Extra session variables (`session:` in the YAML).
    pub session: Vec<(String, String)>,
    /// TLS: CA, client cert, client key file paths (all optional; any set → TLS required).
    pub tls: Option<TlsFiles>,
}

pub use crate::tls::TlsFiles;

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}@{}", self.side, self.user, self.addr())
    }
}

/// How long opening a connection (TCP, TLS, handshake, login, session setup) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl Endpoint {
    /// `host:port`, for messages.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Driver options. `init` statements run on every new connection and again after every
    /// connection reset (a pooled connection is reset when it returns to the pool, which
    /// clears session variables: they must be set again, or a later chunk would run with
    /// the server's time zone and SQL mode).
    pub fn opts(&self, init: Vec<String>) -> Opts {
        let mut init = init;
        init.extend(self.session_statements());
        // The driver runs setup statements last-to-first; keep the written order.
        init.reverse();
        let mut b = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .prefer_socket(false)
            .setup(init)
            .conn_ttl(Some(Duration::from_secs(600)))
            .tcp_nodelay(true);
        if let Some(tls) = &self.tls {
            let mut ssl = SslOpts::default();
            match &tls.ca {
                Some(ca) => ssl = ssl.with_root_certs(vec![ca.clone().into()]),
                None => ssl = ssl.with_danger_accept_invalid_certs(true),
            }
            if let Some(p12) = &tls.identity {
                let id = mysql_async::ClientIdentity::new(p12.clone().into()).with_password("");
                ssl = ssl.with_client_identity(Some(id));
            }
            b = b.ssl_opts(Some(ssl));
        }
        b.into()
    }

    /// The `SET SESSION` statements of the source's `session:` settings.
    pub fn session_statements(&self) -> impl Iterator<Item = String> + '_ {
        self.session
            .iter()
            .map(|(k, v)| format!("SET SESSION {k} = {}", sql_value(v)))
    }

    /// Opens one connection; gives up after [`CONNECT_TIMEOUT`] (a server that accepts the
    /// connection and never answers would otherwise hold the caller forever).
    pub async fn connect(&self, init: Vec<String>) -> Result<Conn, TaskError> {
        let err = |source| TaskError::Connect {
            side: self.side,
            addr: self.addr(),
            source,
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(self.opts(init))).await {
            Ok(r) => r.map_err(err),
            Err(_) => Err(err(mysql_async::Error::Io(mysql_async::IoError::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no answer within {} s (is it a MySQL server, and reachable?)",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                ),
            )))),
        }
    }

    /// A pool of at most `max` connections.
    pub fn pool(&self, init: Vec<String>, max: usize) -> Pool {
        // min = max: idle connections are kept for the next chunk instead of being closed.
        let constraints = PoolConstraints::new(max.max(1), max.max(1)).unwrap_or_default();
        let opts = OptsBuilder::from_opts(self.opts(init))
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        Pool::new(opts)
    }

    /// Wraps a driver error of a statement on this endpoint.
    pub fn sql_err(&self, what: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> TaskError {
        let side = self.side;
        let addr = self.addr();
        let what = what.into();
        move |source| TaskError::Sql {
            side,
            addr,
            what,
            source,
        }
    }
}

/// A session value as SQL: numbers and keywords as they are, anything else quoted.
fn sql_value(v: &str) -> String {
    let bare = v.parse::<f64>().is_ok()
        || v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !v.is_empty();
    if bare {
        v.to_string()
    } else {
        quote_str(v)
    }
}

/// Quotes a string literal for SQL.
pub fn quote_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for c in v.chars() {
        match c {
            '\'' => s.push_str("''"),
            '\\' => s.push_str("\\\\"),
            _ => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// Server family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// MySQL, Aurora MySQL, Percona.
    Mysql,
    /// MariaDB.
    Mariadb,
    /// TiDB (MySQL protocol, its own rules).
    Tidb,
}

/// What a server is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerInfo {
    /// Family.
    pub flavor: Flavor,
    /// `major.minor.patch` of the MySQL-compatible version.
    pub version: (u32, u32, u32),
    /// `SELECT VERSION()` as printed.
    pub version_text: String,
}

impl ServerInfo {
    /// Identifies the server behind `conn`.
    pub async fn detect(conn: &mut Conn, ep: &Endpoint) -> Result<Self, TaskError> {
        let v: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(ep.sql_err("SELECT VERSION()"))?;
        let text = v.unwrap_or_default();
        let lower = text.to_ascii_lowercase();
        let flavor = if lower.contains("tidb") {
            Flavor::Tidb
        } else if lower.contains("mariadb") {
            Flavor::Mariadb
        } else {
            Flavor::Mysql
        };
        Ok(Self {
            flavor,
            version: parse_version(&text),
            version_text: text,
        })
    }

    /// True for MySQL 8.2+ where `SHOW MASTER STATUS` is renamed `SHOW BINARY LOG STATUS`.
    pub fn has_binary_log_status(&self) -> bool {
        self.flavor == Flavor::Mysql && self.version >= (8, 2, 0)
    }
}

/// Parses the leading `X.Y.Z` of a version string.
pub fn parse_version(text: &str) -> (u32, u32, u32) {
    let mut nums = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
    )
}

/// Reads the upstream's current binlog position (and executed GTID set).
///
/// Uses `SHOW BINARY LOG STATUS` on MySQL ≥ 8.2 and `SHOW MASTER STATUS` elsewhere. An empty
/// answer (binary log disabled, or no privilege to see it) is an error, never a silent "no
/// position" as mydumper 0.10 records against MySQL 9.
pub async fn read_position(
    conn: &mut Conn,
    info: &ServerInfo,
    ep: &Endpoint,
) -> Result<Location, TaskError> {
    let stmt = if info.has_binary_log_status() {
        "SHOW BINARY LOG STATUS"
    } else {
        "SHOW MASTER STATUS"
    };
    let no_pos = |reason: String| TaskError::NoPosition {
        addr: ep.addr(),
        reason,
    };
    let row: Option<Row> = conn.query_first(stmt).await.map_err(|e| {
        no_pos(format!(
            "`{stmt}` failed: {e} (the user needs REPLICATION CLIENT{})",
            if info.flavor == Flavor::Mariadb {
                " or BINLOG MONITOR"
            } else {
                ""
            }
        ))
    })?;
    let row = row.ok_or_else(|| {
        no_pos(format!(
            "`{stmt}` returned no row: is the binary log enabled (log_bin=ON) on the upstream?"
        ))
    })?;
    let file: String = row
        .get_opt::<String, _>(0)
        .and_then(Result::ok)
        .ok_or_else(|| no_pos(format!("`{stmt}` returned no File column")))?;
    let pos: u64 = row
        .get_opt::<u64, _>(1)
        .and_then(Result::ok)
        .ok_or_else(|| no_pos(format!("`{stmt}` returned no Position column")))?;
    let binlog = BinlogPosition::new(file, pos).map_err(|e| no_pos(e.to_string()))?;
    let gtid = match info.flavor {
        Flavor::Mariadb => {
            let g: Option<String> = conn
                .query_first("SELECT @@GLOBAL.gtid_binlog_pos")
                .await
                .map_err(ep.sql_err("SELECT @@GLOBAL.gtid_binlog_pos"))?;
            match g {
                Some(g) => Some(GtidSet::parse_mariadb(&g).map_err(|e| no_pos(e.to_string()))?),
                None => None,
            }
        }
        _ => match row.get_opt::<String, _>(4).and_then(Result::ok) {
            Some(g) if !g.trim().is_empty() => {
                Some(GtidSet::parse_mysql(&g).map_err(|e| no_pos(e.to_string()))?)
            }
            _ => None,
        },
    };
    Ok(Location { binlog, gtid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("9.7.4"), (9, 7, 4));
        assert_eq!(
            parse_version("10.11.19-MariaDB-0+deb12u1-log"),
            (10, 11, 19)
        );
        assert_eq!(parse_version("8.0.11-TiDB-v7.5.0"), (8, 0, 11));
    }

    #[test]
    fn session_values_are_quoted_unless_plain() {
        assert_eq!(sql_value("1"), "1");
        assert_eq!(sql_value("ON"), "ON");
        assert_eq!(sql_value("+08:00"), "'+08:00'");
        assert_eq!(sql_value("a'b"), "'a''b'");
    }
}
