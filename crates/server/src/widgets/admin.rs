//! The admin API of widgets. Connect has no public API for its hosted widget, so these paths
//! are Liaison's own; they take the same admin SigV4 signature as the Connect API and answer
//! with its errors.

use super::manage::{self, WidgetInput, key_json, widget_json};
use crate::auth;
use crate::connect::find_instance;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::Request;
use axum::routing::{delete, get};
use liaison_core::widget::Widget;
use liaison_wire::{Api, ConnectError};
use serde_json::{Value, json};

/// Largest admin request body.
const BODY_LIMIT: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/liaison/widgets/{InstanceId}",
            get(list_widgets).put(create_widget),
        )
        .route(
            "/liaison/widgets/{InstanceId}/{WidgetId}",
            get(describe_widget)
                .post(update_widget)
                .delete(delete_widget),
        )
        .route(
            "/liaison/widgets/{InstanceId}/{WidgetId}/keys",
            axum::routing::post(add_key),
        )
        .route(
            "/liaison/widgets/{InstanceId}/{WidgetId}/keys/{KeyId}",
            delete(delete_key),
        )
}

/// The checked body of a signed admin request and the instance it names.
async fn signed(
    state: &AppState,
    instance_id: &str,
    request: Request<Body>,
) -> Result<(String, Bytes), ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ConnectError::InvalidRequest(format!(
            "The request body is larger than {BODY_LIMIT} bytes."
        ))
    })?;
    auth::verify_admin_signature(state, &parts, &body)?;
    let instance = find_instance(state, instance_id).await?;
    Ok((instance.id, body))
}

fn input(body: &Bytes) -> Result<WidgetInput, ApiError> {
    if body.is_empty() {
        return Ok(WidgetInput::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ConnectError::InvalidRequest(format!("The request body is not a widget: {e}")).into()
    })
}

async fn shown(state: &AppState, widget: &Widget) -> Result<Value, ApiError> {
    let keys = state
        .store
        .widget_keys(&widget.id)
        .await
        .or_internal(Api::Connect)?;
    Ok(widget_json(widget, &keys))
}

/// The saved widget, with the key made for it (secret included) when there is one.
async fn saved(state: &AppState, saved: manage::Saved) -> Result<Value, ApiError> {
    let mut body = json!({
        "WidgetId": saved.widget.id,
        "Widget": shown(state, &saved.widget).await?,
    });
    if let Some(key) = &saved.new_key {
        body["SecurityKey"] = key_json(key, true);
    }
    Ok(body)
}

/// `PUT /liaison/widgets/{InstanceId}` — creates a widget (`Name`, `ContactFlowId`,
/// `AllowedOrigins`, optional `SecurityEnabled`, `DisplayNames`, `Styles`).
async fn create_widget(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, body) = signed(&state, &instance_id, request).await?;
    let now = state.clock.now_ms();
    let created = manage::create_widget(&*state.store, &instance_id, input(&body)?, now).await?;
    saved(&state, created).await.map(Json)
}

/// `GET /liaison/widgets/{InstanceId}` — the instance's widgets, by name.
async fn list_widgets(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, _) = signed(&state, &instance_id, request).await?;
    let mut widgets = Vec::new();
    for widget in state
        .store
        .list_widgets(&instance_id)
        .await
        .or_internal(Api::Connect)?
    {
        widgets.push(shown(&state, &widget).await?);
    }
    Ok(Json(json!({"Widgets": widgets})))
}

/// `GET /liaison/widgets/{InstanceId}/{WidgetId}` — one widget, its keys without secrets.
async fn describe_widget(
    State(state): State<AppState>,
    Path((instance_id, widget_id)): Path<(String, String)>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, _) = signed(&state, &instance_id, request).await?;
    let widget = manage::find_widget(&*state.store, &instance_id, &widget_id).await?;
    Ok(Json(json!({"Widget": shown(&state, &widget).await?})))
}

/// `POST /liaison/widgets/{InstanceId}/{WidgetId}` — changes the members the body sets.
async fn update_widget(
    State(state): State<AppState>,
    Path((instance_id, widget_id)): Path<(String, String)>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, body) = signed(&state, &instance_id, request).await?;
    let now = state.clock.now_ms();
    let updated =
        manage::update_widget(&*state.store, &instance_id, &widget_id, input(&body)?, now).await?;
    saved(&state, updated).await.map(Json)
}

/// `DELETE /liaison/widgets/{InstanceId}/{WidgetId}` — deletes the widget and its keys.
async fn delete_widget(
    State(state): State<AppState>,
    Path((instance_id, widget_id)): Path<(String, String)>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, _) = signed(&state, &instance_id, request).await?;
    manage::delete_widget(&*state.store, &instance_id, &widget_id).await?;
    Ok(Json(json!({})))
}

/// `POST /liaison/widgets/{InstanceId}/{WidgetId}/keys` — a new security key, its secret shown
/// this once (at most two at a time, so a site can rotate).
async fn add_key(
    State(state): State<AppState>,
    Path((instance_id, widget_id)): Path<(String, String)>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, _) = signed(&state, &instance_id, request).await?;
    let now = state.clock.now_ms();
    let key = manage::add_key(&*state.store, &instance_id, &widget_id, now).await?;
    Ok(Json(json!({"SecurityKey": key_json(&key, true)})))
}

/// `DELETE /liaison/widgets/{InstanceId}/{WidgetId}/keys/{KeyId}` — tokens signed with the key
/// stop working.
async fn delete_key(
    State(state): State<AppState>,
    Path((instance_id, widget_id, key_id)): Path<(String, String, String)>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (instance_id, _) = signed(&state, &instance_id, request).await?;
    manage::delete_key(&*state.store, &instance_id, &widget_id, &key_id).await?;
    Ok(Json(json!({})))
}
