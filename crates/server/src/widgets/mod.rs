//! Chat widgets for websites: their admin API, and the endpoint a widget on a page starts
//! chats through (see `docs/widgets.md`).

pub mod admin;
pub mod demo;
pub mod limits;
pub mod manage;
pub mod page;
pub mod start_chat;

use crate::state::AppState;
use axum::Router;
use axum::http::HeaderValue;

pub use limits::StartLimits;

pub fn routes() -> Router<AppState> {
    admin::routes()
        .route(
            start_chat::PATH,
            axum::routing::post(start_chat::start_chat),
        )
        .route(page::LOADER_PATH, axum::routing::get(page::loader))
        .route(page::CONFIG_PATH, axum::routing::get(page::config))
        .route(demo::PATH, axum::routing::get(demo::demo_page))
}

/// Whether a browser request to `path` from `origin` may read the answer (CORS): widget paths
/// only for the widget's allowed origins; every other path for any origin, as Connect's
/// participant service allows pages anywhere to chat.
pub async fn origin_may_read(state: &AppState, origin: &HeaderValue, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/widget/") else {
        return true;
    };
    // The script itself is loaded by <script>, which needs no CORS; reading it is harmless.
    if path == page::LOADER_PATH {
        return true;
    }
    let widget_id = rest.split('/').next().unwrap_or_default();
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    match state.store.get_widget(widget_id).await {
        Ok(Some(widget)) => widget.config.allows_origin(origin),
        _ => false,
    }
}
