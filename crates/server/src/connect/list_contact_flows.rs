use super::{find_instance, paginate};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_wire::Api;
use serde::{Deserialize, Serialize};

/// The page size when `maxResults` is absent.
const DEFAULT_PAGE_SIZE: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    #[serde(default)]
    contact_flow_types: Vec<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_flow_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    name: String,
    contact_flow_type: String,
    contact_flow_state: String,
    contact_flow_status: String,
}

/// `GET /contact-flows-summary/{InstanceId}` — the instance's flows, optionally of some types.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let flows = state
        .store
        .list_flows(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let summaries = flows
        .into_iter()
        .filter(|flow| {
            request.contact_flow_types.is_empty()
                || request.contact_flow_types.contains(&flow.flow_type)
        })
        .map(|flow| Summary {
            arn: super::describe_contact_flow::flow_arn(state, &flow),
            id: flow.id,
            name: flow.name,
            contact_flow_type: flow.flow_type,
            contact_flow_state: flow.state,
            contact_flow_status: flow.status,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        contact_flow_summary_list: page,
        next_token,
    })
}
