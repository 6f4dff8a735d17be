use super::{find_instance, require_contact};
use crate::error::ApiError;
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    initial_contact_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    attributes: BTreeMap<String, String>,
}

/// `GET /contact/attributes/{InstanceId}/{InitialContactId}` — the contact's user attributes.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let contact = require_contact(state, &instance, &request.initial_contact_id).await?;
    Ok(Response {
        attributes: contact.attributes,
    })
}
