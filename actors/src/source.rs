//! The source supervisor: one actor per registered source. It owns the source's relay log
//! (when `enable-relay`: the relay service's writer, purge and status loops, which restart
//! their own sessions with backoff) and answers for it by messages: status, purge, the
//! handle tasks read from, and stop.

use std::sync::Arc;

use actix::{Actor, Context, Handler, Message, ResponseFuture};

use crate::dm_status::RelayStatus;
use crate::relay_service::{ManualPurge, RelayError, RelayService};

/// The supervisor of one source.
pub struct SourceActor {
    id: String,
    relay: Option<Arc<RelayService>>,
}

impl SourceActor {
    /// A source's supervisor, with its started relay log if it has one.
    pub fn new(id: impl Into<String>, relay: Option<RelayService>) -> Self {
        Self {
            id: id.into(),
            relay: relay.map(Arc::new),
        }
    }
}

impl Actor for SourceActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        if self.relay.take().is_some() {
            tracing::info!(source = %self.id, "source supervisor stopped; relay log released");
        }
    }
}

/// The relay log's status (`None`: the source has no relay log).
#[derive(Message)]
#[rtype(result = "Option<RelayStatus>")]
pub struct QueryRelay;

impl Handler<QueryRelay> for SourceActor {
    type Result = Option<RelayStatus>;

    fn handle(&mut self, _: QueryRelay, _: &mut Self::Context) -> Self::Result {
        self.relay.as_ref().map(|r| r.relay_status())
    }
}

/// The relay log tasks of this source read from (`None`: no relay log).
#[derive(Message)]
#[rtype(result = "Option<Arc<RelayService>>")]
pub struct RelayHandle;

impl Handler<RelayHandle> for SourceActor {
    type Result = Option<Arc<RelayService>>;

    fn handle(&mut self, _: RelayHandle, _: &mut Self::Context) -> Self::Result {
        self.relay.clone()
    }
}

/// Why a relay command could not run.
#[derive(Debug, thiserror::Error)]
pub enum RelayCommandError {
    /// The source has no relay log.
    #[error("source `{0}` has no relay log (enable-relay)")]
    NoRelay(String),
    /// The relay log refused or failed.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// `purge-relay`: delete the relay log before `file` (never what a task still needs).
#[derive(Message)]
#[rtype(result = "Result<ManualPurge, RelayCommandError>")]
pub struct PurgeRelay {
    /// The first binlog file to keep.
    pub file: String,
}

impl Handler<PurgeRelay> for SourceActor {
    type Result = ResponseFuture<Result<ManualPurge, RelayCommandError>>;

    fn handle(&mut self, msg: PurgeRelay, _: &mut Self::Context) -> Self::Result {
        let relay = self.relay.clone();
        let id = self.id.clone();
        Box::pin(async move {
            let relay = relay.ok_or(RelayCommandError::NoRelay(id))?;
            Ok(relay.purge_before_file(&msg.file).await?)
        })
    }
}

/// Stop the source: its relay log's loops are stopped and awaited, then the actor stops.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopSource;

impl Handler<StopSource> for SourceActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopSource, ctx: &mut Self::Context) -> Self::Result {
        use actix::AsyncContext;
        let relay = self.relay.take();
        let me = ctx.address();
        Box::pin(async move {
            if let Some(relay) = relay {
                relay.stop().await;
            }
            me.do_send(Halt);
        })
    }
}

/// Ends the actor (after [`StopSource`] has stopped what it owned).
#[derive(Message)]
#[rtype(result = "()")]
struct Halt;

impl Handler<Halt> for SourceActor {
    type Result = ();

    fn handle(&mut self, _: Halt, ctx: &mut Self::Context) {
        use actix::ActorContext;
        ctx.stop();
    }
}
