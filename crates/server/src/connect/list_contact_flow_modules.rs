use super::describe_contact_flow_module::module_arn;
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
    contact_flow_module_state: Option<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    contact_flow_modules_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    name: String,
    state: String,
}

/// `GET /contact-flow-modules-summary/{InstanceId}` — the instance's modules by name,
/// optionally in one state.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let modules = state
        .store
        .list_flow_modules(&instance.id)
        .await
        .or_internal(Api::Connect)?;
    let summaries = modules
        .into_iter()
        .filter(|module| {
            request
                .contact_flow_module_state
                .as_ref()
                .is_none_or(|wanted| *wanted == module.state)
        })
        .map(|module| Summary {
            arn: module_arn(state, &module),
            id: module.id,
            name: module.name,
            state: module.state,
        })
        .collect();
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        contact_flow_modules_summary_list: page,
        next_token,
    })
}
