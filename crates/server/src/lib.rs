//! The team server: `firebreak serve`. A web UI (server-rendered HTML, a few lines of
//! same-origin script, no inline script under a strict Content-Security-Policy) and a REST
//! API under `/api/v1` described by the OpenAPI document at `/api/v1/openapi.json`, both
//! over the same store the CLI uses and the same use cases in `app`.
//!
//! Every route is declared once in [`routes::ROUTES`] with the permission it needs; one
//! guard authenticates (session cookie or API token), checks the permission against the
//! IR plan's roles, checks the CSRF token on every state-changing form, and hides
//! restricted cases (404) from people they are not restricted to.

pub mod alb;
mod api;
pub mod bench;
mod cache;
mod error;
mod guard;
mod html;
mod live;
pub mod oidc;
pub mod openapi;
mod pages;
pub mod routes;
mod state;

pub use error::ServerError;
pub use state::{ServerConfig, ServerRules, Shared};

use std::sync::Arc;

/// The router for `app` with `config`.
pub fn router(app: app::App, config: ServerConfig) -> axum::Router {
    let shared = Arc::new(Shared::new(app, config));
    routes::router(shared)
}

/// Serves until the process ends (or `shutdown` resolves).
pub async fn serve(
    app: app::App,
    config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let shared = Arc::new(Shared::new(app, config));
    live::watch_store(shared.clone());
    let router = routes::router(shared);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
}

/// Binds `addr` (for example `127.0.0.1:8080`).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, ServerError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })
}
