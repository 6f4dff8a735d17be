use super::views::{AWS_MANAGED_VIEWS, view_arn};
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
    #[serde(rename = "Type")]
    view_type: Option<String>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    views_summary_list: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    id: String,
    arn: String,
    name: String,
    #[serde(rename = "Type")]
    view_type: &'static str,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// `GET /views/{InstanceId}` — the AWS-managed views, then the instance's customer-managed ones
/// by name; `type` keeps one kind.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let wanted = |view_type: &str| {
        request
            .view_type
            .as_deref()
            .is_none_or(|wanted| wanted == view_type)
    };
    let mut summaries = Vec::new();
    if wanted("AWS_MANAGED") {
        let mut aws_managed: Vec<_> = AWS_MANAGED_VIEWS.iter().collect();
        aws_managed.sort_by_key(|view| view.name);
        summaries.extend(aws_managed.into_iter().map(|view| Summary {
            id: view.name.into(),
            arn: view.arn(state),
            name: view.name.into(),
            view_type: "AWS_MANAGED",
            status: "PUBLISHED".into(),
            description: Some(view.description.into()),
        }));
    }
    if wanted("CUSTOMER_MANAGED") {
        let views = state
            .store
            .list_views(&instance.id)
            .await
            .or_internal(Api::Connect)?;
        summaries.extend(views.into_iter().map(|view| Summary {
            arn: view_arn(state, &view),
            id: view.id,
            name: view.name,
            view_type: "CUSTOMER_MANAGED",
            status: view.status,
            description: view.description,
        }));
    }
    let (page, next_token) = paginate(
        summaries,
        request.next_token.as_deref(),
        request.max_results.unwrap_or(DEFAULT_PAGE_SIZE),
    )?;
    Ok(Response {
        views_summary_list: page,
        next_token,
    })
}
