use super::{InstanceView, paginate};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    instance_summary_list: Vec<InstanceView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `GET /instance` — the instances this Liaison hosts.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instances = state
        .store
        .list_instances()
        .await
        .or_internal(Api::Connect)?;
    let summaries = instances
        .into_iter()
        .map(|instance| InstanceView::new(state, instance))
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(10),
    )?;
    Ok(Response {
        instance_summary_list: page,
        next_token,
    })
}
