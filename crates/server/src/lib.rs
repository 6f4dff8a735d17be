//! Liaison's HTTP and WebSocket front.
//!
//! Routes come from the operation table of `liaison-wire` ([`routes`]); the Connect API is
//! authenticated by SigV4 and the participant API by bearer tokens ([`auth`]); each implemented
//! operation is one module under [`connect`] or [`participant`] holding its request, response
//! and handler; chat items reach sockets through the store and the [`bus`].

pub mod agents;
pub mod attachments;
pub mod auth;
pub mod bootstrap;
pub mod bus;
pub mod connect;
pub mod error;
mod flow_logs;
pub mod flows;
pub mod guides;
mod holders;
mod lambda;
mod layers;
mod metrics;
pub mod participant;
mod queue_metrics;
pub mod routes;
pub mod routing;
pub mod sigv4;
pub mod state;
pub mod timers;
pub mod widgets;
pub mod workspace;
pub mod ws;

use liaison_core::Clock;
use liaison_store::{Store, StoreError};
use state::{AppState, ServerConfig, Shared};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Builds the shared state, seeds the defaults, re-arms persisted deadlines and starts the
/// timer task.
pub async fn start(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: ServerConfig,
) -> Result<AppState, StoreError> {
    bootstrap::ensure_defaults(store.as_ref(), clock.as_ref()).await?;
    let (timers, commands) = timers::Timers::channel();
    let bus = Arc::new(bus::Bus::default());
    let node = uuid::Uuid::new_v4().to_string();
    let (routing, routing_events) = routing::RoutingInbox::channel();
    let announcer =
        bus::cluster::start(store.clone(), bus.clone(), node.clone(), routing.clone()).await?;
    let single_writer = announcer.is_none();
    let widget_limits = widgets::StartLimits::new(
        config.widget_starts_per_client_minute,
        config.widget_starts_per_widget_minute,
    );
    let state = AppState::new(Shared {
        store,
        clock,
        config,
        bus,
        announcer,
        timers,
        sockets: ws::SocketRegistry::default(),
        metrics: metrics::Metrics::default(),
        holders: holders::HolderCache::new(single_writer),
        removals: tokio::sync::broadcast::channel(1024).0,
        http: reqwest::Client::new(),
        flow_drives: tokio::sync::Semaphore::new(flows::CONCURRENT_DRIVES),
        node,
        routing,
        widget_limits,
        attachment_transfers: tokio::sync::Semaphore::new(attachments::CONCURRENT_TRANSFERS),
    });
    for (contact_id, deadline_ms) in state.store.open_contact_deadlines().await? {
        state.timers.arm_chat_deadline(&contact_id, deadline_ms);
    }
    tokio::spawn(timers::run(state.clone(), commands));
    tokio::spawn(routing::run(state.clone(), routing_events));
    Ok(state)
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = layers::apply(routes::router(state.clone()), state);
    // The peer address counts widget starts per client.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
