//! `liaison widget …`: manages chat widgets and their security keys on the store `serve` uses,
//! with the same rules as the admin API (`/liaison/widgets/…`).

use clap::Subcommand;
use liaison_core::{Clock, SystemClock};
use liaison_server::error::ApiError;
use liaison_server::widgets::manage::{self, WidgetInput, key_json, widget_json};
use liaison_store::Store;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum WidgetCommand {
    /// List the instance's widgets.
    List,
    /// Create a widget. With --secure its first security key is printed (only this once).
    Create {
        #[arg(long)]
        name: String,
        /// The flow chats start in (id or ARN).
        #[arg(long)]
        flow: String,
        /// An origin whose pages may start chats, like https://www.example.com (repeatable).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// Require a token signed with one of the widget's security keys.
        #[arg(long)]
        secure: bool,
    },
    /// Show a widget and its keys (without their secrets).
    Show { widget_id: String },
    /// Change a widget's name, flow, origins or security.
    Update {
        widget_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        flow: Option<String>,
        /// Replaces the allowed origins (repeatable).
        #[arg(long = "origin")]
        origins: Vec<String>,
        #[arg(long)]
        secure: Option<bool>,
    },
    /// Delete a widget and its keys.
    Delete { widget_id: String },
    /// Add a security key (at most two at a time); its secret is printed only this once.
    AddKey { widget_id: String },
    /// Delete a security key: tokens signed with it stop working.
    DeleteKey { widget_id: String, key_id: String },
}

/// Runs the command on the instance (the first one when not named); prints JSON.
pub async fn run(
    store: &dyn Store,
    instance: Option<&str>,
    command: WidgetCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let instances = store.list_instances().await?;
    let instance_id = match instance {
        Some(wanted) => instances
            .iter()
            .find(|i| i.id == wanted || i.alias == wanted)
            .map(|i| i.id.clone())
            .ok_or_else(|| format!("no instance {wanted}"))?,
        None => instances
            .first()
            .map(|i| i.id.clone())
            .ok_or("no instance yet: start `liaison serve` once")?,
    };
    let now = SystemClock.now_ms();
    let shown = async |widget: &liaison_core::widget::Widget| {
        let keys = store.widget_keys(&widget.id).await?;
        Ok::<Value, Box<dyn std::error::Error>>(widget_json(widget, &keys))
    };
    let output = match command {
        WidgetCommand::List => {
            let mut widgets = Vec::new();
            for widget in store.list_widgets(&instance_id).await? {
                widgets.push(shown(&widget).await?);
            }
            json!({"Widgets": widgets})
        }
        WidgetCommand::Create {
            name,
            flow,
            origins,
            secure,
        } => {
            let input = WidgetInput {
                name: Some(name),
                contact_flow_id: Some(flow),
                allowed_origins: Some(origins),
                security_enabled: Some(secure),
                ..WidgetInput::default()
            };
            let saved = manage::create_widget(store, &instance_id, input, now)
                .await
                .map_err(refused)?;
            saved_json(shown(&saved.widget).await?, saved.new_key.as_ref())
        }
        WidgetCommand::Show { widget_id } => {
            let widget = manage::find_widget(store, &instance_id, &widget_id)
                .await
                .map_err(refused)?;
            json!({"Widget": shown(&widget).await?})
        }
        WidgetCommand::Update {
            widget_id,
            name,
            flow,
            origins,
            secure,
        } => {
            let input = WidgetInput {
                name,
                contact_flow_id: flow,
                allowed_origins: (!origins.is_empty()).then_some(origins),
                security_enabled: secure,
                ..WidgetInput::default()
            };
            let saved = manage::update_widget(store, &instance_id, &widget_id, input, now)
                .await
                .map_err(refused)?;
            saved_json(shown(&saved.widget).await?, saved.new_key.as_ref())
        }
        WidgetCommand::Delete { widget_id } => {
            manage::delete_widget(store, &instance_id, &widget_id)
                .await
                .map_err(refused)?;
            json!({"Deleted": widget_id})
        }
        WidgetCommand::AddKey { widget_id } => {
            let key = manage::add_key(store, &instance_id, &widget_id, now)
                .await
                .map_err(refused)?;
            json!({"SecurityKey": key_json(&key, true)})
        }
        WidgetCommand::DeleteKey { widget_id, key_id } => {
            manage::delete_key(store, &instance_id, &widget_id, &key_id)
                .await
                .map_err(refused)?;
            json!({"Deleted": key_id})
        }
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}

fn saved_json(widget: Value, new_key: Option<&liaison_core::widget::WidgetKey>) -> Value {
    let mut out = json!({"Widget": widget});
    if let Some(key) = new_key {
        out["SecurityKey"] = key_json(key, true);
    }
    out
}

/// The API's refusal as a command-line error.
fn refused(error: ApiError) -> Box<dyn std::error::Error> {
    format!("{}: {}", error.code(), error.message()).into()
}
