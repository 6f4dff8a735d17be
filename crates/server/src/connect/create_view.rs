use super::find_instance;
use super::views::{ViewInputContent, ViewShape, duplicate_name};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::View;
use liaison_core::organisation::Tags;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    client_token: Option<String>,
    status: String,
    content: ViewInputContent,
    description: Option<String>,
    name: String,
    tags: Option<Tags>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    view: ViewShape,
}

/// `PUT /views/{InstanceId}` — a customer-managed view; its `Template` must be a JSON object and
/// its name free in the instance. A retry with a `ClientToken` that finds the very view it
/// created answers with that view.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let content = request.content.check()?;
    let now_ms = state.clock.now_ms();
    let view = View {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        description: request.description,
        status: request.status,
        template: content.template,
        actions: content.actions,
        tags: request.tags.unwrap_or_default(),
        created_ms: now_ms,
        modified_ms: now_ms,
    };
    let inserted = state
        .store
        .insert_view(&view)
        .await
        .or_internal(Api::Connect)?;
    if inserted {
        return Ok(Response {
            view: ViewShape::customer_managed(state, view),
        });
    }
    let existing = state
        .store
        .list_views(&view.instance_id)
        .await
        .or_internal(Api::Connect)?
        .into_iter()
        .find(|existing| existing.name == view.name);
    match existing {
        Some(existing)
            if request.client_token.is_some()
                && existing.description == view.description
                && existing.status == view.status
                && existing.template == view.template
                && existing.actions == view.actions
                && existing.tags == view.tags =>
        {
            Ok(Response {
                view: ViewShape::customer_managed(state, existing),
            })
        }
        _ => Err(duplicate_name(&view.name)),
    }
}
