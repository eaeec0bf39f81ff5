//! `ferryctl`'s command line: dmctl's commands, flags and positional arguments.

use clap::{Parser, Subcommand};

/// Control a running ferryd (DM's dmctl commands).
#[derive(Parser, Debug)]
#[command(name = "ferryctl", version)]
pub struct Cli {
    /// ferryd's API address (host:port).
    #[arg(
        long,
        env = "DM_MASTER_ADDR",
        default_value = "127.0.0.1:8261",
        global = true
    )]
    pub master_addr: String,
    /// CA certificate (PEM) that ferryd's HTTPS certificate must be signed by; with it (or any
    /// TLS flag) the API is reached over HTTPS.
    #[arg(long = "ssl-ca", global = true)]
    pub ssl_ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for a ferryd that asks for one (its `ssl-ca`).
    #[arg(long = "ssl-cert", global = true)]
    pub ssl_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of --ssl-cert.
    #[arg(long = "ssl-key", global = true)]
    pub ssl_key: Option<std::path::PathBuf>,
    /// File holding ferryd's API bearer token (its `api-token-path`); else the token is taken
    /// from the FERRY_API_TOKEN environment variable.
    #[arg(long = "api-token-file", env = "FERRY_API_TOKEN_FILE", global = true)]
    pub api_token_file: Option<std::path::PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create, show or stop upstream sources.
    OperateSource {
        /// create | show | stop
        op: String,
        /// source.yaml files (create, stop) or source ids (stop).
        files: Vec<String>,
        /// show: only these sources.
        #[arg(short = 's', long = "source")]
        sources: Vec<String>,
    },
    /// Run the prechecks of a task file.
    CheckTask {
        /// task.yaml
        file: String,
        /// Start time of binlog replication, e.g. '2021-10-21 00:01:00' or 2021-10-21T00:01:00.
        #[arg(long = "start-time")]
        start_time: Option<String>,
    },
    /// Precheck and start a task.
    StartTask {
        /// task.yaml
        file: String,
        /// Drop the task's checkpoints first and copy from scratch.
        #[arg(long)]
        remove_meta: bool,
        /// Start time of binlog replication, e.g. '2021-10-21 00:01:00' or 2021-10-21T00:01:00
        /// (incremental tasks: takes precedence over `meta` and the checkpoint).
        #[arg(long = "start-time")]
        start_time: Option<String>,
    },
    /// Show the status of one task or of all tasks.
    QueryStatus {
        /// Task name or task file.
        task: Option<String>,
        /// Only these sources.
        #[arg(short = 's', long = "source")]
        sources: Vec<String>,
        /// Without a task: every subtask's full status instead of the task list.
        #[arg(long)]
        more: bool,
        /// Print a human view with progress bars instead of JSON.
        #[arg(long)]
        human: bool,
    },
    /// Pause a task (with -s: only those sources' subtasks; -s without a task: every task's
    /// subtask on that source).
    PauseTask(TaskOpArgs),
    /// Resume a paused task from its checkpoint (-s as for pause-task).
    ResumeTask(TaskOpArgs),
    /// Stop a task (its checkpoints are kept; -s as for pause-task).
    StopTask(TaskOpArgs),
    /// Skip, replace, list or revert operator decisions on a task's binlog statements (DDL).
    Binlog {
        /// skip | replace | list | revert
        op: String,
        /// Task name or task file.
        task: String,
        /// Position of the statement, `file:pos` (skip/replace: default the one the task is
        /// blocked on; list: from this position; revert: the decision at this position).
        #[arg(short = 'b', long = "binlog-pos")]
        binlog_pos: Option<String>,
        /// Only the subtask of this source.
        #[arg(short = 's', long = "source")]
        source: Option<String>,
        /// For replace: the statement(s) to run instead.
        sqls: Vec<String>,
    },
    /// Show, set or remove an upstream table's definition in a task's schema history, as
    /// dmctl's `binlog-schema` (changes need the task paused).
    BinlogSchema {
        /// list | update | delete
        op: String,
        /// Task name or task file.
        task: String,
        /// Upstream database.
        database: String,
        /// Upstream table.
        table: String,
        /// update: a file holding the table's `CREATE TABLE` statement.
        schema_file: Option<String>,
        /// The task's source (needed when it has several).
        #[arg(short = 's', long = "source")]
        source: Option<String>,
        /// update: take the upstream's definition as it is now.
        #[arg(long = "from-source")]
        from_source: bool,
        /// update: take the target table's definition.
        #[arg(long = "from-target")]
        from_target: bool,
        /// Accepted for dmctl compatibility (Ferry writes the history durably at once).
        #[arg(long = "flush", num_args = 0..=1, default_missing_value = "true")]
        flush: Option<String>,
        /// Accepted for dmctl compatibility.
        #[arg(long = "sync", num_args = 0..=1, default_missing_value = "true")]
        sync: Option<String>,
    },
    /// Start the relay log of a source.
    StartRelay(RelayArgs),
    /// Stop the relay log of a source (refused while a task reads from it).
    StopRelay(RelayArgs),
    /// Purge a source's relay log before a binlog file (never what a task still needs).
    PurgeRelay {
        /// Source id.
        #[arg(short = 's', long = "source")]
        source: String,
        /// Purge the relay log before this binlog file.
        #[arg(short = 'f', long = "filename")]
        filename: String,
        /// Accepted for dmctl compatibility (one relay directory per source).
        #[arg(long = "sub-dir")]
        sub_dir: Option<String>,
    },
    /// Show a stored configuration, or export / import all of them.
    Config {
        /// The config command.
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Show a stored task or source configuration (legacy form of `config`).
    GetConfig {
        /// task | source
        kind: String,
        /// Task name or source id.
        name: String,
        /// Write the configuration to this file instead.
        #[arg(short = 'f', long = "file")]
        file: Option<String>,
    },
    /// Encrypt a password with ferryd's secret key (or --secret-key-path offline).
    Encrypt {
        /// The plaintext.
        plaintext: String,
        /// Key file (64 hex characters); encrypts locally without ferryd.
        #[arg(long)]
        secret_key_path: Option<String>,
    },
    /// Check source, task and daemon files offline.
    Validate {
        /// Files to check.
        files: Vec<String>,
        /// Key file to check encrypted passwords with.
        #[arg(long)]
        secret_key_path: Option<String>,
    },
}

/// Arguments of `pause-task`, `resume-task`, `stop-task`.
#[derive(clap::Args, Debug)]
pub struct TaskOpArgs {
    /// Task name or task file (may be left out with exactly one -s).
    pub task: Option<String>,
    /// Only the subtasks of these sources.
    #[arg(short = 's', long = "source")]
    pub sources: Vec<String>,
    /// Accepted for dmctl compatibility (tasks of a source are handled one after another).
    #[arg(long = "batch-size", default_value_t = 5)]
    pub batch_size: usize,
}

/// Arguments of `start-relay`, `stop-relay`.
#[derive(clap::Args, Debug)]
pub struct RelayArgs {
    /// The source.
    #[arg(short = 's', long = "source", required = true)]
    pub sources: Vec<String>,
    /// Worker names (deprecated in DM; ferryd is the only worker).
    pub workers: Vec<String>,
}

/// `config` subcommands.
#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Show a stored task configuration (passwords sealed).
    Task {
        /// Task name or task file.
        name: String,
        /// Write it to this file instead.
        #[arg(short = 'p', long = "path")]
        path: Option<String>,
    },
    /// Show a stored source configuration (passwords sealed).
    Source {
        /// Source id.
        name: String,
        /// Write it to this file instead.
        #[arg(short = 'p', long = "path")]
        path: Option<String>,
    },
    /// Write every source to `<dir>/sources/<id>.yaml` and task to `<dir>/tasks/<name>.yaml`.
    Export {
        /// Directory (default `./configs`).
        #[arg(short = 'd', long = "dir")]
        dir: Option<String>,
        /// Same as --dir (dmctl's `-p`).
        #[arg(short = 'p', long = "path")]
        path: Option<String>,
    },
    /// Create the sources then start the tasks that `config export` wrote.
    Import {
        /// Directory (default `./configs`).
        #[arg(short = 'd', long = "dir")]
        dir: Option<String>,
        /// Same as --dir (dmctl's `-p`).
        #[arg(short = 'p', long = "path")]
        path: Option<String>,
    },
}
