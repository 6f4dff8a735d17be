//! The demo page: a page with the widget on it, so a new user can chat as a customer with an
//! agent signed in to the workspace a minute after the first start. Its widget ("Demo widget",
//! no security, the default chat flow) is made on the first visit and allows the origin the
//! page was reached at: the configured `public_url`, or a loopback address (so a request's
//! `Host` cannot add arbitrary origins). Turned off with `demo_page = false`.

use super::manage::{self, WidgetInput};
use crate::bootstrap::{DEFAULT_FLOW_NAME, DEFAULT_INSTANCE_ALIAS};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use liaison_core::widget::{Widget, normalize_origin};
use liaison_wire::{Api, ConnectError};

pub const PATH: &str = "/demo";
/// The name of the widget the demo page uses.
pub const DEMO_WIDGET_NAME: &str = "Demo widget";

/// `GET /demo` — a page with the demo widget on it.
pub async fn demo_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.demo_page {
        return (StatusCode::NOT_FOUND, "The demo page is turned off.").into_response();
    }
    // The origin exactly as the browser reached the page (`localhost` stays `localhost`).
    let origin = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("127.0.0.1")
        ),
    };
    if state.config.public_url.is_none() && !is_loopback_origin(&origin) {
        return (
            StatusCode::FORBIDDEN,
            "The demo page answers on 127.0.0.1 or localhost, or at the configured public_url.",
        )
            .into_response();
    }
    match demo_widget(&state, &origin).await {
        Ok(widget) => Html(page(&origin, &widget.id)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Whether the origin is this machine (`127.x`, `localhost`, `[::1]`, any port).
fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://") else {
        return false;
    };
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => rest,
    };
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

/// The demo widget, made or opened to `origin` as needed.
async fn demo_widget(state: &AppState, origin: &str) -> Result<Widget, ApiError> {
    let origin = normalize_origin(origin).map_err(ConnectError::InvalidRequest)?;
    let store = &*state.store;
    let instances = store.list_instances().await.or_internal(Api::Connect)?;
    let instance = instances
        .iter()
        .find(|instance| instance.alias == DEFAULT_INSTANCE_ALIAS)
        .or(instances.first())
        .ok_or_else(|| ConnectError::ResourceNotFound("No instance yet.".into()))?;
    let now = state.clock.now_ms();
    let existing = store
        .list_widgets(&instance.id)
        .await
        .or_internal(Api::Connect)?
        .into_iter()
        .find(|widget| widget.name == DEMO_WIDGET_NAME);
    match existing {
        Some(widget) if widget.config.allowed_origins.contains(&origin) => Ok(widget),
        Some(widget) => {
            let mut origins = widget.config.allowed_origins.clone();
            origins.push(origin);
            let input = WidgetInput {
                allowed_origins: Some(origins),
                ..WidgetInput::default()
            };
            Ok(
                manage::update_widget(store, &instance.id, &widget.id, input, now)
                    .await?
                    .widget,
            )
        }
        None => {
            let flow = store
                .list_flows(&instance.id)
                .await
                .or_internal(Api::Connect)?
                .into_iter()
                .find(|flow| flow.name == DEFAULT_FLOW_NAME)
                .ok_or_else(|| {
                    ConnectError::ResourceNotFound(format!("No flow named {DEFAULT_FLOW_NAME}."))
                })?;
            let input = WidgetInput {
                name: Some(DEMO_WIDGET_NAME.into()),
                contact_flow_id: Some(flow.id),
                allowed_origins: Some(vec![origin]),
                ..WidgetInput::default()
            };
            Ok(manage::create_widget(store, &instance.id, input, now)
                .await?
                .widget)
        }
    }
}

fn page(origin: &str, widget_id: &str) -> String {
    // As JavaScript string literals (JSON is one), so nothing in them can leave the script.
    let script_text = |text: &str| {
        serde_json::to_string(text)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    };
    let loader = script_text(&format!("{origin}/widget/loader.js"));
    let widget = script_text(widget_id);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Liaison demo</title>
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }}
  main {{ max-width: 44rem; margin: 3rem auto; padding: 0 1.5rem; }}
  h1 {{ font-size: 1.8rem; margin-bottom: .5rem; }}
  ol li {{ margin: .5rem 0; }}
  code {{ background: #e4e7eb; padding: .1rem .3rem; border-radius: 4px; }}
  a {{ color: #0b6bcb; }}
</style>
</head>
<body>
<main>
  <h1>Liaison demo</h1>
  <p>This page carries a chat widget, as a website of yours would.</p>
  <ol>
    <li>Open the <a href="/workspace/" target="_blank" rel="noopener">agent workspace</a> in another
      window, sign in as <code>admin</code> (the password was printed at the first start and is kept
      in <code>workspace-admin.json</code> in the data directory) and set yourself Available.</li>
    <li>Click the chat button at the bottom right of this page and say hello.</li>
    <li>Accept the chat in the workspace and answer.</li>
  </ol>
  <p>The widget is <code>{DEMO_WIDGET_NAME}</code>; manage widgets with <code>liaison widget</code>
    (see <code>docs/widgets.md</code>).</p>
</main>
<script type="text/javascript">
  (function(w, d, x, id) {{
    var s = d.createElement('script'); s.src = {loader}; s.async = 1; s.id = id;
    d.getElementsByTagName('head')[0].appendChild(s);
    w[x] = w[x] || function() {{ (w[x].ac = w[x].ac || []).push(arguments) }};
  }})(window, document, 'amazon_connect', {widget});
  amazon_connect('styles', {{ headerText: 'Liaison demo' }});
  amazon_connect('supportedMessagingContentTypes', ['text/plain', 'text/markdown']);
  amazon_connect('contactAttributes', {{ page: 'demo' }});
</script>
</body>
</html>
"#
    )
}
