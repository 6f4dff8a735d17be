//! Flow logs over HTTP: what Connect sends to CloudWatch, read back per contact. Not an AWS
//! operation, so it has a path of its own; it takes the same admin SigV4 signature as the
//! Connect API, since the records hold contact data.

use crate::auth;
use crate::connect::{find_instance, require_contact};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use liaison_wire::Api;
use serde_json::{Value, json};

/// The path of [`get_flow_logs`].
pub const PATH: &str = "/liaison/flow-logs/{InstanceId}/{ContactId}";

/// `GET /liaison/flow-logs/{InstanceId}/{ContactId}` — the contact's flow log records, oldest
/// first, as `{"FlowLogs": [...]}`.
pub async fn get_flow_logs(
    State(state): State<AppState>,
    Path((instance_id, contact_id)): Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    match flow_logs(&state, &instance_id, &contact_id, request).await {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn flow_logs(
    state: &AppState,
    instance_id: &str,
    contact_id: &str,
    request: Request<Body>,
) -> Result<Value, ApiError> {
    let (parts, _) = request.into_parts();
    auth::verify_admin_signature(state, &parts, b"")?;
    let instance = find_instance(state, instance_id).await?;
    let contact = require_contact(state, &instance, contact_id).await?;
    let records = state
        .store
        .flow_logs(&contact.id)
        .await
        .or_internal(Api::Connect)?;
    let records: Vec<Value> = records
        .iter()
        .filter_map(|stored| serde_json::from_str(&stored.record).ok())
        .collect();
    Ok(json!({ "FlowLogs": records }))
}
