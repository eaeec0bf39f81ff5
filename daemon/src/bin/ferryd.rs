//! `ferryd`: the Ferry daemon.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use ferry_config::{DaemonConfig, SecretKey};
use ferry_daemon::api_token::ApiToken;
use ferry_daemon::logging::Logging;
use ferry_daemon::registry::{Folders, Registry};
use ferry_daemon::systemd::Notifier;
use ferry_daemon::{allocator, api, api_tls};
use ferry_relay::Store;
use tracing::{error, info};

/// Ferry: MySQL/MariaDB → TiDB/MySQL migration daemon (DM-compatible).
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    /// Daemon configuration file (YAML).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address of the HTTP API (overrides the file), e.g. 127.0.0.1:8261.
    #[arg(long)]
    master_addr: Option<String>,
    /// State directory (overrides the file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Log level (overrides the file): debug, info, warn, error.
    #[arg(long)]
    log_level: Option<String>,
    /// Log file (overrides the file); default stderr.
    #[arg(long)]
    log_file: Option<PathBuf>,
}

impl Args {
    /// The flags that override the daemon file.
    fn override_file(&self, cfg: &mut DaemonConfig) {
        if let Some(a) = &self.master_addr {
            cfg.master_addr = a.clone();
        }
        if let Some(d) = &self.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(f) = &self.log_file {
            cfg.log_file = Some(f.clone());
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut cfg = match &args.config {
        Some(path) => match ferry_config::load_daemon_file(path) {
            Ok(l) => {
                l.log_warnings();
                l.config
            }
            Err(e) => {
                eprintln!("ferryd: {e}");
                return std::process::ExitCode::from(2);
            }
        },
        None => DaemonConfig::default(),
    };
    args.override_file(&mut cfg);
    // The file was checked when loaded; the flags may have moved the API beyond loopback.
    let problems = cfg.api_protection_problems();
    if !problems.is_empty() {
        let from = args
            .config
            .as_ref()
            .map_or("defaults and flags".to_string(), |p| {
                format!("{} and flags", p.display())
            });
        for (key, msg) in problems {
            eprintln!("ferryd: {from}: {key}: {msg}");
        }
        return std::process::ExitCode::from(2);
    }
    let level = args
        .log_level
        .clone()
        .unwrap_or_else(|| cfg.log_level.to_string());
    let logging = match Logging::init(
        &level,
        cfg.log_file.as_deref(),
        cfg.log_format.to_string() == "json",
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ferryd: cannot set up logging: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let reload = Reload {
        args: args.clone(),
        logging,
        folders: Folders {
            source_dir: cfg.source_dir.clone(),
            task_dir: cfg.task_dir.clone(),
            applied: cfg.data_dir.join("folders.json"),
        },
        running: cfg.clone(),
    };
    match run(cfg, reload) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            eprintln!("ferryd: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// What a SIGHUP reloads: the log file (reopened), the daemon file's `log-level` (unless
/// `--log-level` is given), applied in place, and the `source-dir` / `task-dir` folders.
struct Reload {
    /// The command line (its flags override the file at each reload too).
    args: Args,
    logging: Logging,
    /// The folders applied at start-up and at each reload.
    folders: Folders,
    /// The configuration ferryd runs with.
    running: DaemonConfig,
}

impl Reload {
    /// Reloads; an invalid file is refused as a whole and what runs keeps running.
    async fn reload(&mut self, registry: &Registry) -> Result<(), String> {
        self.logging.reopen()?;
        self.reload_config()?;
        registry.apply_folders(&self.folders).await
    }

    /// Reads the daemon file again and applies what can change in place.
    fn reload_config(&mut self) -> Result<(), String> {
        let Some(path) = &self.args.config else {
            return Ok(());
        };
        let loaded = ferry_config::load_daemon_file(path)
            .map_err(|e| format!("reload refused, nothing changed: {e}"))?;
        loaded.log_warnings();
        let mut new = loaded.config;
        self.args.override_file(&mut new);
        if self.args.log_level.is_none() && new.log_level != self.running.log_level {
            self.logging.set_level(&new.log_level.to_string())?;
            info!(from = %self.running.log_level, to = %new.log_level, "log level changed");
            self.running.log_level = new.log_level;
        }
        let restart_only = [
            ("master-addr", new.master_addr != self.running.master_addr),
            ("data-dir", new.data_dir != self.running.data_dir),
            ("log-file", new.log_file != self.running.log_file),
            ("log-format", new.log_format != self.running.log_format),
            (
                "secret-key-path",
                new.secret_key_path != self.running.secret_key_path,
            ),
            ("ssl-ca", new.ssl_ca != self.running.ssl_ca),
            ("ssl-cert", new.ssl_cert != self.running.ssl_cert),
            ("ssl-key", new.ssl_key != self.running.ssl_key),
            (
                "api-token-path",
                new.api_token_path != self.running.api_token_path,
            ),
        ];
        for (key, changed) in restart_only {
            if changed {
                tracing::warn!(file = %path.display(), key, "changed: takes effect when ferryd restarts");
            }
        }
        self.folders.source_dir = new.source_dir;
        self.folders.task_dir = new.task_dir;
        info!(file = %path.display(), "configuration reloaded");
        Ok(())
    }
}

fn run(cfg: DaemonConfig, reload: Reload) -> Result<(), String> {
    match allocator::version() {
        Some(v) if allocator::serves_malloc() => {
            info!(allocator = "jemalloc", version = %v, "memory allocator")
        }
        v => tracing::warn!(
            jemalloc = ?v,
            "jemalloc does not serve malloc (the C library's allocator does): expect more CPU per change"
        ),
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| format!("cannot create data-dir {}: {e}", cfg.data_dir.display()))?;
    // Passwords are sealed at rest with the configured key, else with the data dir's own.
    let key = match &cfg.secret_key_path {
        Some(p) => SecretKey::load(p).map_err(|e| e.to_string())?,
        None => ferry_daemon::data_key::load_or_create(&cfg.data_dir)?,
    };
    let key = Some(key);
    let store = Arc::new(Store::open(&cfg.data_dir.join("state")).map_err(|e| e.to_string())?);
    let store_handle = store.clone();
    let metrics = install_metrics()?;
    // The one runtime: the actix system (the supervisors: task actors) runs on this thread
    // inside it; the pipeline stages and the HTTP API run on its worker threads.
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ferry-worker")
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?,
    );
    let system = actix::System::with_tokio_rt({
        let rt = rt.clone();
        move || rt
    });
    let result = system.block_on(serve(cfg, store, key, metrics, reload));
    // Dropping the system drops the supervisors (they hold the state store) on this thread,
    // before the store is closed below.
    drop(system);
    match Arc::try_unwrap(rt) {
        Ok(rt) => rt.shutdown_timeout(std::time::Duration::from_secs(5)),
        Err(_) => tracing::warn!("the runtime is still referenced at exit"),
    }
    // The store is closed here, on this thread, unless something still holds it (then it is
    // left to the exit, and said).
    let holders = Arc::strong_count(&store_handle) - 1;
    if holders > 0 {
        tracing::warn!(holders, "the state store is still held at exit");
    }
    drop(store_handle);
    if result.is_ok() {
        info!("ferryd stopped");
    }
    result
}

/// Installs the Prometheus recorder; returns what renders `/metrics`.
fn install_metrics() -> Result<api::MetricsFn, String> {
    // Gauges are set at each scrape: those of a stopped task go after 10 minutes unset.
    let mut builder = metrics_exporter_prometheus::PrometheusBuilder::new().idle_timeout(
        metrics_util::MetricKindMask::GAUGE,
        Some(std::time::Duration::from_secs(600)),
    );
    // DM's bucket layouts: histograms, not summaries (DM's dashboards read `_bucket`).
    for (name, buckets) in ferry_actors::metrics::histogram_buckets() {
        builder = builder
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(name.to_string()),
                &buckets,
            )
            .map_err(|e| format!("histogram buckets of {name}: {e}"))?;
    }
    let prometheus = builder
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    ferry_actors::metrics::describe();
    metrics::describe_gauge!("ferry_task_stage", "Task stage per task (1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished), as DM's dm_worker_task_state");
    // Histogram samples are buffered until upkeep drains them: drain every 5 s whether or
    // not anyone scrapes.
    let upkeep = prometheus.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            upkeep.run_upkeep();
        })
        .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
    Ok(Arc::new(move || {
        ferry_actors::metrics::publish();
        prometheus.run_upkeep();
        prometheus.render()
    }))
}

/// Listens, restores the registered sources and tasks, serves the API until SIGTERM/SIGINT,
/// then stops the API and the tasks (they resume on the next start).
async fn serve(
    cfg: DaemonConfig,
    store: Arc<Store>,
    key: Option<SecretKey>,
    metrics: api::MetricsFn,
    mut reload: Reload,
) -> Result<(), String> {
    let systemd = Notifier::from_env();
    let token = cfg
        .api_token_path
        .as_deref()
        .map(ApiToken::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    let tls = match (&cfg.ssl_cert, &cfg.ssl_key) {
        (Some(cert), Some(key)) => Some(api_tls::acceptor(cert, key, cfg.ssl_ca.as_deref())?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(&cfg.master_addr)
        .await
        .map_err(|e| format!("cannot listen on master-addr {}: {e}", cfg.master_addr))?;
    info!(
        addr = %cfg.master_addr,
        data_dir = %cfg.data_dir.display(),
        tls = tls.is_some(),
        client_certificates = cfg.ssl_ca.is_some(),
        bearer_token = token.is_some(),
        "ferryd listening"
    );
    let arbiter = actix::System::current().arbiter().clone();
    let registry = Registry::restore(
        store,
        key,
        tokio::runtime::Handle::current(),
        arbiter.clone(),
    )
    .await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = async {
        let _ = stop_rx.await;
    };
    let http = match tls {
        Some(acceptor) => {
            let listener = api_tls::TlsListener::new(listener, acceptor)
                .map_err(|e| format!("master-addr {}: {e}", cfg.master_addr))?;
            tokio::spawn(api::serve(
                listener,
                registry.clone(),
                metrics,
                token,
                stopped,
            ))
        }
        None => tokio::spawn(api::serve(
            listener,
            registry.clone(),
            metrics,
            token,
            stopped,
        )),
    };
    // Start-up applies the folders as a reload does; a refusal leaves what the store restored.
    let status = match registry.apply_folders(&reload.folders).await {
        Ok(()) => format!("listening on {}", cfg.master_addr),
        Err(e) => {
            error!(error = %e, "source-dir / task-dir");
            format!(
                "listening on {}; source-dir / task-dir: {e}",
                cfg.master_addr
            )
        }
    };
    systemd.ready(&status);
    let watchdog = systemd.watchdog_every().map(|every| {
        info!(every = ?every, "pinging the systemd watchdog");
        tokio::spawn(ferry_daemon::systemd::watchdog(
            systemd.clone(),
            every,
            arbiter,
        ))
    });
    serve_signals(&systemd, &mut reload, &registry).await;
    systemd.stopping();
    info!("shutting down");
    if let Some(w) = watchdog {
        w.abort();
    }
    let _ = stop_tx.send(());
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => error!(error = %e, "the API server failed"),
        Err(e) => error!(error = %e, "the API server task failed"),
    }
    registry.shutdown().await;
    Ok(())
}

/// Returns at SIGTERM or SIGINT; reloads at SIGHUP (`RELOADING=1` … `READY=1` to systemd).
async fn serve_signals(systemd: &Notifier, reload: &mut Reload, registry: &Registry) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        error!("cannot install signal handlers; stop ferryd with SIGKILL");
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = tokio::signal::ctrl_c() => return,
            _ = hup.recv() => {
                systemd.reloading();
                let status = match reload.reload(registry).await {
                    Ok(()) => "reloaded".to_string(),
                    Err(e) => {
                        error!(error = %e, "SIGHUP");
                        format!("reload failed: {e}")
                    }
                };
                systemd.ready(&status);
            }
        }
    }
}
