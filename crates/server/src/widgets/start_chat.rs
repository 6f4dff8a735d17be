//! The start-chat endpoint browsers call from a widget: what Connect users otherwise build as
//! an API Gateway and Lambda in front of `StartChatContact`, since pages cannot sign SigV4.
//! It checks the page's origin, the rate limits and, with security on, the site's signed
//! token; then it starts the chat through the same code as `StartChatContact`.

use crate::connect::start_chat_contact;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Request, header};
use liaison_core::widget::{SNIPPET_ATTRIBUTE_PREFIX, Widget};
use liaison_core::widget_token::{self, TokenError};
use liaison_wire::{Api, ConnectError, RawInput, catalog};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The path browsers post to.
pub const PATH: &str = "/widget/{WidgetId}/start-chat";
/// Largest request body: a token of 6,144 bytes and the page's attributes.
const BODY_LIMIT: usize = 64 * 1024;

/// What the page sends.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct StartRequest {
    /// The site's signed token (the snippet's `authenticate` callback), when security is on.
    token: Option<String>,
    /// The customer's name (the snippet's `customerDisplayName`), used if the widget allows it.
    display_name: Option<String>,
    /// Attributes the page sets (the snippet's `contactAttributes`), stored with the
    /// `HostedWidget-` prefix.
    #[serde(default)]
    contact_attributes: Map<String, Value>,
    supported_messaging_content_types: Option<Vec<String>>,
}

fn access_denied(message: impl Into<String>) -> ApiError {
    ConnectError::AccessDenied(message.into()).into()
}

fn invalid(message: impl Into<String>) -> ApiError {
    ConnectError::InvalidParameter(message.into()).into()
}

/// `POST /widget/{WidgetId}/start-chat` — starts a chat for a page of an allowed origin:
/// `{ContactId, ParticipantId, ParticipantToken, ParticipantEndpoint, Region}`, what ChatJS
/// needs to join it.
pub async fn start_chat(
    State(state): State<AppState>,
    Path(widget_id): Path<String>,
    request: Request<Body>,
) -> Result<Json<Value>, ApiError> {
    let (parts, body) = request.into_parts();
    let now = state.clock.now_ms();
    let client = super::limits::client_key(
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip()),
        parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok()),
        &state.config.trusted_proxies,
    );
    if !state.widget_limits.per_client.allow(&client, now) {
        return Err(ConnectError::Throttling(
            "Too many chats started from this address; try again in a minute.".into(),
        )
        .into());
    }
    let widget = state
        .store
        .get_widget(&widget_id)
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| ConnectError::ResourceNotFound(format!("Widget {widget_id} not found.")))?;
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !widget.config.allows_origin(origin) {
        return Err(access_denied(format!(
            "Pages of origin '{origin}' may not start chats with widget {widget_id}."
        )));
    }
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        invalid(format!(
            "The request body is larger than {BODY_LIMIT} bytes."
        ))
    })?;
    let request: StartRequest = if body.is_empty() {
        StartRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| invalid(format!("The request body is not a chat start: {e}")))?
    };
    let signed = if widget.config.security_enabled {
        signed_attributes(&state, &widget, request.token.as_deref(), now).await?
    } else {
        BTreeMap::new()
    };
    let attributes = contact_attributes(signed, &request.contact_attributes)?;
    let names = &widget.config.display_names;
    let display_name = match request.display_name.as_deref().map(str::trim) {
        Some(name) if names.customer_from_page && !name.is_empty() => name.to_string(),
        _ => names.customer.clone(),
    };
    let mut start = json!({
        "InstanceId": widget.instance_id,
        "ContactFlowId": widget.config.contact_flow_id,
        "Attributes": attributes,
        "ParticipantDetails": {"DisplayName": display_name},
    });
    if let Some(types) = &request.supported_messaging_content_types {
        start["SupportedMessagingContentTypes"] = json!(types);
    }
    // Counted once the start is known good: refused attempts cannot use up the widget's minute.
    if !state.widget_limits.per_widget.allow(&widget.id, now) {
        return Err(ConnectError::Throttling(format!(
            "Widget {widget_id} started too many chats this minute; try again shortly."
        ))
        .into());
    }
    let started = start_through_the_api(&state, &start).await?;
    let endpoint = state.http_base(
        parts
            .headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok()),
    );
    tracing::info!(widget_id, contact_id = %started["ContactId"], "chat started from a widget");
    Ok(Json(json!({
        "ContactId": started["ContactId"],
        "ParticipantId": started["ParticipantId"],
        "ParticipantToken": started["ParticipantToken"],
        "ParticipantEndpoint": endpoint,
        "Region": state.config.region,
    })))
}

/// The attributes of the site's token, which must be signed by one of the widget's keys.
async fn signed_attributes(
    state: &AppState,
    widget: &Widget,
    token: Option<&str>,
    now_ms: i64,
) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(token) = token else {
        return Err(access_denied(format!(
            "Widget {} has security on: the start needs the site's signed Token.",
            widget.id
        )));
    };
    let keys = state
        .store
        .widget_keys(&widget.id)
        .await
        .or_internal(Api::Connect)?;
    let secrets: Vec<&str> = keys.iter().map(|key| key.secret.as_str()).collect();
    widget_token::verify(token, &widget.id, &secrets, now_ms.div_euclid(1000)).map_err(|error| {
        match error {
            TokenError::AttributesNotObject
            | TokenError::AttributeNotString { .. }
            | TokenError::AttributeKeyEmpty => invalid(format!("The chat did not start: {error}")),
            _ => access_denied(format!("The token was refused: {error}")),
        }
    })
}

/// The contact's attributes: the token's as they are, then the page's under the
/// `HostedWidget-` prefix, never replacing a token's attribute of the same name.
fn contact_attributes(
    mut attributes: BTreeMap<String, String>,
    from_page: &Map<String, Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    for (key, value) in from_page {
        let Value::String(value) = value else {
            return Err(invalid(format!(
                "ContactAttributes.{key} must be a string."
            )));
        };
        attributes
            .entry(format!("{SNIPPET_ATTRIBUTE_PREFIX}{key}"))
            .or_insert_with(|| value.clone());
    }
    Ok(attributes)
}

/// Starts the chat as `StartChatContact` would, model checks included.
async fn start_through_the_api(state: &AppState, start: &Value) -> Result<Value, ApiError> {
    let Some(op) = catalog().find(Api::Connect, "StartChatContact") else {
        return Err(ConnectError::InternalService("StartChatContact is missing.".into()).into());
    };
    let body = start.to_string();
    let input = liaison_wire::bind(
        op,
        RawInput {
            body: body.as_bytes(),
            path: &[],
            query: &[],
        },
    )
    .map_err(|error| match error {
        liaison_wire::InputError::MalformedBody(message)
        | liaison_wire::InputError::Invalid(message) => invalid(message),
    })?;
    let request: start_chat_contact::Request = serde_json::from_value(input)
        .map_err(|e| invalid(format!("The chat start is not valid: {e}")))?;
    let response = start_chat_contact::handle(state, request).await?;
    Ok(serde_json::to_value(response).unwrap_or(Value::Null))
}
