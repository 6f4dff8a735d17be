use super::{find_contact, find_instance};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_store::Appended;
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    contact_id: String,
    instance_id: String,
}

#[derive(Serialize)]
pub struct Response {}

fn not_found(contact_id: &str) -> ApiError {
    ConnectError::ContactNotFound(format!("Contact {contact_id} not found or already ended."))
        .into()
}

/// `POST /contact/stop` — ends the chat for everyone in it.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let Some(contact) = find_contact(state, &instance, &request.contact_id).await? else {
        return Err(not_found(&request.contact_id));
    };
    match state
        .end_chat(&contact.id, None)
        .await
        .or_internal(Api::Connect)?
    {
        Appended::ContactClosed => Err(not_found(&request.contact_id)),
        _ => Ok(Response {}),
    }
}
