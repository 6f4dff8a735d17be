use super::{
    MAX_ATTRIBUTES_BYTES, check_attribute_keys, find_contact, find_instance, too_large_attributes,
};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_store::MergedAttributes;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    initial_contact_id: String,
    instance_id: String,
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
pub struct Response {}

fn not_found(contact_id: &str) -> ApiError {
    ConnectError::ResourceNotFound(format!("Contact {contact_id} not found.")).into()
}

/// `POST /contact/attributes` — merges attributes into a contact, open or ended.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    check_attribute_keys(&request.attributes)?;
    let Some(contact) = find_contact(state, &instance, &request.initial_contact_id).await? else {
        return Err(not_found(&request.initial_contact_id));
    };
    let merged = state
        .store
        .merge_attributes(&contact.id, &request.attributes, MAX_ATTRIBUTES_BYTES)
        .await
        .or_internal(Api::Connect)?;
    match merged {
        MergedAttributes::Merged => Ok(Response {}),
        MergedAttributes::TooLarge { total_bytes } => Err(too_large_attributes(total_bytes)),
        MergedAttributes::NoSuchContact => Err(not_found(&request.initial_contact_id)),
    }
}
