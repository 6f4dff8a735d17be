//! What a page needs to show a widget: the widget script (`web/dist/widget`, built with
//! `npm run build` in `web/` and compiled into the binary) and the widget's public settings.

use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use liaison_wire::{Api, ConnectError};
use serde_json::{Value, json};

/// The path of the script a snippet loads.
pub const LOADER_PATH: &str = "/widget/loader.js";
/// The path of a widget's public settings.
pub const CONFIG_PATH: &str = "/widget/{WidgetId}/config";

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist/widget"]
#[allow_missing = true]
struct WidgetScript;

/// `GET /widget/loader.js` — the widget: launcher, chat pane and ChatJS in one script.
pub async fn loader() -> Response {
    match WidgetScript::get("loader.js") {
        Some(file) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                // Short, so a new Liaison's widget reaches pages soon.
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            file.data,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "The widget is not built into this binary: run `npm ci && npm run build` in web/ and build Liaison again.",
        )
            .into_response(),
    }
}

/// `GET /widget/{WidgetId}/config` — what the widget shows (display names and styles); no
/// secrets, readable by the widget's allowed origins.
pub async fn config(
    State(state): State<AppState>,
    Path(widget_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let widget = state
        .store
        .get_widget(&widget_id)
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| ConnectError::ResourceNotFound(format!("Widget {widget_id} not found.")))?;
    Ok(Json(json!({
        "WidgetId": widget.id,
        "DisplayNames": widget.config.display_names,
        "Styles": widget.config.styles,
        "SecurityEnabled": widget.config.security_enabled,
    })))
}
