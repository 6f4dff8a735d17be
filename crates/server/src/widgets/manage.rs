//! Creating, changing and deleting widgets and their security keys, on the store alone: the
//! admin API and the `liaison widget` command share these, so both check the same rules.

use crate::connect::id_from_arn;
use crate::error::{ApiError, OrInternal};
use liaison_core::widget::{
    DisplayNames, MAX_ACTIVE_KEYS, MAX_NAME_CHARS, Widget, WidgetConfig, WidgetKey,
    normalize_origin,
};
use liaison_core::{format_iso_millis, new_token};
use liaison_store::Store;
use liaison_wire::{Api, ConnectError};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Most origins a widget lists.
const MAX_ORIGINS: usize = 50;
/// Largest styles document, in bytes of JSON.
const MAX_STYLES_BYTES: usize = 16 * 1024;
/// Longest display name (the participant API's limit).
const MAX_DISPLAY_NAME_CHARS: usize = 256;

/// What a create or update request sets; on update, what it leaves out stays.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WidgetInput {
    pub name: Option<String>,
    pub contact_flow_id: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub security_enabled: Option<bool>,
    pub display_names: Option<DisplayNames>,
    pub styles: Option<Map<String, Value>>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ConnectError::InvalidParameter(message.into()).into()
}

fn widget_not_found(widget_id: &str) -> ApiError {
    ConnectError::ResourceNotFound(format!("Widget {widget_id} not found.")).into()
}

fn duplicate_name(name: &str) -> ApiError {
    ConnectError::DuplicateResource(format!("A widget named '{name}' already exists.")).into()
}

/// A widget and the key made for it, if one was (shown this once).
pub struct Saved {
    pub widget: Widget,
    pub new_key: Option<WidgetKey>,
}

/// Creates a widget of the instance; with security on, its first key comes with it.
pub async fn create_widget(
    store: &dyn Store,
    instance_id: &str,
    input: WidgetInput,
    now_ms: i64,
) -> Result<Saved, ApiError> {
    let (Some(name), Some(flow), Some(origins)) = (
        input.name.as_deref(),
        input.contact_flow_id.as_deref(),
        input.allowed_origins.as_deref(),
    ) else {
        return Err(invalid(
            "A widget needs a Name, a ContactFlowId and AllowedOrigins.",
        ));
    };
    let widget = Widget {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance_id.to_string(),
        name: check_name(name)?,
        config: WidgetConfig {
            contact_flow_id: check_flow(store, instance_id, flow).await?,
            allowed_origins: check_origins(origins)?,
            security_enabled: input.security_enabled.unwrap_or(false),
            display_names: check_display_names(input.display_names.unwrap_or_default())?,
            styles: check_styles(input.styles.unwrap_or_default())?,
        },
        created_ms: now_ms,
        modified_ms: now_ms,
    };
    if !store
        .create_widget(&widget)
        .await
        .or_internal(Api::Connect)?
    {
        return Err(duplicate_name(&widget.name));
    }
    let new_key = if widget.config.security_enabled {
        Some(add_key(store, instance_id, &widget.id, now_ms).await?)
    } else {
        None
    };
    Ok(Saved { widget, new_key })
}

/// The instance's widget `widget_id`.
pub async fn find_widget(
    store: &dyn Store,
    instance_id: &str,
    widget_id: &str,
) -> Result<Widget, ApiError> {
    store
        .get_widget(widget_id)
        .await
        .or_internal(Api::Connect)?
        .filter(|widget| widget.instance_id == instance_id)
        .ok_or_else(|| widget_not_found(widget_id))
}

/// Changes what `input` sets. Turning security on for a widget without keys makes one.
pub async fn update_widget(
    store: &dyn Store,
    instance_id: &str,
    widget_id: &str,
    input: WidgetInput,
    now_ms: i64,
) -> Result<Saved, ApiError> {
    let mut widget = find_widget(store, instance_id, widget_id).await?;
    if let Some(name) = &input.name {
        widget.name = check_name(name)?;
        let taken = store
            .list_widgets(instance_id)
            .await
            .or_internal(Api::Connect)?
            .iter()
            .any(|other| other.name == widget.name && other.id != widget.id);
        if taken {
            return Err(duplicate_name(&widget.name));
        }
    }
    let config = &mut widget.config;
    if let Some(flow) = &input.contact_flow_id {
        config.contact_flow_id = check_flow(store, instance_id, flow).await?;
    }
    if let Some(origins) = &input.allowed_origins {
        config.allowed_origins = check_origins(origins)?;
    }
    if let Some(enabled) = input.security_enabled {
        config.security_enabled = enabled;
    }
    if let Some(names) = input.display_names {
        config.display_names = check_display_names(names)?;
    }
    if let Some(styles) = input.styles {
        config.styles = check_styles(styles)?;
    }
    widget.modified_ms = now_ms;
    if !store
        .update_widget(&widget)
        .await
        .or_internal(Api::Connect)?
    {
        return Err(widget_not_found(widget_id));
    }
    let needs_key = widget.config.security_enabled
        && store
            .widget_keys(&widget.id)
            .await
            .or_internal(Api::Connect)?
            .is_empty();
    let new_key = if needs_key {
        Some(add_key(store, instance_id, &widget.id, now_ms).await?)
    } else {
        None
    };
    Ok(Saved { widget, new_key })
}

pub async fn delete_widget(
    store: &dyn Store,
    instance_id: &str,
    widget_id: &str,
) -> Result<(), ApiError> {
    if store
        .delete_widget(instance_id, widget_id)
        .await
        .or_internal(Api::Connect)?
    {
        Ok(())
    } else {
        Err(widget_not_found(widget_id))
    }
}

/// A new security key for the widget; its secret is shown this once.
pub async fn add_key(
    store: &dyn Store,
    instance_id: &str,
    widget_id: &str,
    now_ms: i64,
) -> Result<WidgetKey, ApiError> {
    find_widget(store, instance_id, widget_id).await?;
    let key = WidgetKey {
        id: uuid::Uuid::new_v4().to_string(),
        widget_id: widget_id.to_string(),
        secret: new_token(),
        created_ms: now_ms,
    };
    if store.add_widget_key(&key).await.or_internal(Api::Connect)? {
        Ok(key)
    } else {
        Err(ConnectError::ServiceQuotaExceeded(format!(
            "Widget {widget_id} has {MAX_ACTIVE_KEYS} security keys already; delete the old one first."
        ))
        .into())
    }
}

pub async fn delete_key(
    store: &dyn Store,
    instance_id: &str,
    widget_id: &str,
    key_id: &str,
) -> Result<(), ApiError> {
    find_widget(store, instance_id, widget_id).await?;
    if store
        .delete_widget_key(widget_id, key_id)
        .await
        .or_internal(Api::Connect)?
    {
        Ok(())
    } else {
        Err(ConnectError::ResourceNotFound(format!(
            "Widget {widget_id} has no security key {key_id}."
        ))
        .into())
    }
}

/// The widget as the admin API shows it: its settings, its keys without their secrets, and
/// the paths a page uses.
pub fn widget_json(widget: &Widget, keys: &[WidgetKey]) -> Value {
    let mut out = match serde_json::to_value(&widget.config) {
        Ok(Value::Object(members)) => members,
        _ => Map::new(),
    };
    out.insert("Id".into(), json!(widget.id));
    out.insert("Name".into(), json!(widget.name));
    out.insert(
        "SecurityKeys".into(),
        keys.iter().map(|key| key_json(key, false)).collect(),
    );
    out.insert(
        "StartChatPath".into(),
        json!(format!("/widget/{}/start-chat", widget.id)),
    );
    out.insert(
        "CreatedTime".into(),
        json!(format_iso_millis(widget.created_ms)),
    );
    out.insert(
        "LastModifiedTime".into(),
        json!(format_iso_millis(widget.modified_ms)),
    );
    Value::Object(out)
}

/// A key as the admin API shows it; the secret only when it was just made.
pub fn key_json(key: &WidgetKey, with_secret: bool) -> Value {
    let mut out = json!({"KeyId": key.id, "CreatedTime": format_iso_millis(key.created_ms)});
    if with_secret {
        out["Secret"] = json!(key.secret);
    }
    out
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "Name must have 1 to {MAX_NAME_CHARS} characters."
        )));
    }
    Ok(name.to_string())
}

/// The flow's id, when the instance has it.
async fn check_flow(
    store: &dyn Store,
    instance_id: &str,
    flow_ref: &str,
) -> Result<String, ApiError> {
    store
        .get_flow(instance_id, id_from_arn(flow_ref))
        .await
        .or_internal(Api::Connect)?
        .map(|flow| flow.id)
        .ok_or_else(|| {
            ConnectError::ResourceNotFound(format!("Contact flow {flow_ref} not found.")).into()
        })
}

fn check_origins(origins: &[String]) -> Result<Vec<String>, ApiError> {
    if origins.is_empty() || origins.len() > MAX_ORIGINS {
        return Err(invalid(format!(
            "AllowedOrigins must list 1 to {MAX_ORIGINS} origins."
        )));
    }
    let mut normalized = Vec::with_capacity(origins.len());
    for origin in origins {
        let origin = normalize_origin(origin).map_err(invalid)?;
        if !normalized.contains(&origin) {
            normalized.push(origin);
        }
    }
    Ok(normalized)
}

fn check_display_names(names: DisplayNames) -> Result<DisplayNames, ApiError> {
    let given = [
        Some(&names.customer),
        names.agent.as_ref(),
        names.bot.as_ref(),
        names.system.as_ref(),
    ];
    for name in given.into_iter().flatten() {
        if name.trim().is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(invalid(format!(
                "Display names must have 1 to {MAX_DISPLAY_NAME_CHARS} characters."
            )));
        }
    }
    Ok(names)
}

fn check_styles(styles: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let size = serde_json::to_string(&styles).map_or(usize::MAX, |text| text.len());
    if size > MAX_STYLES_BYTES {
        return Err(invalid(format!(
            "Styles must be at most {MAX_STYLES_BYTES} bytes of JSON."
        )));
    }
    Ok(styles)
}
