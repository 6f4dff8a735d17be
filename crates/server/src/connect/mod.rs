//! Connect API (SigV4) operations, one module each: request, response and handler side by side.

pub mod associate_lambda_function;
pub mod associate_routing_profile_queues;
pub mod create_agent_status;
pub mod create_contact_flow;
pub mod create_contact_flow_module;
pub mod create_hours_of_operation;
pub mod create_participant;
pub mod create_queue;
pub mod create_routing_profile;
pub mod create_user;
pub mod create_view;
pub mod delete_contact_flow;
pub mod delete_user;
pub mod delete_view;
pub mod describe_agent_status;
pub mod describe_contact;
pub mod describe_contact_flow;
pub mod describe_contact_flow_module;
pub mod describe_hours_of_operation;
pub mod describe_instance;
pub mod describe_queue;
pub mod describe_routing_profile;
pub mod describe_user;
pub mod describe_view;
pub mod disassociate_lambda_function;
pub mod get_contact_attributes;
pub mod list_agent_statuses;
pub mod list_contact_flow_modules;
pub mod list_contact_flows;
pub mod list_hours_of_operations;
pub mod list_instances;
pub mod list_lambda_functions;
pub mod list_queues;
pub mod list_routing_profile_queues;
pub mod list_routing_profiles;
pub mod list_security_profiles;
pub mod list_users;
pub mod list_views;
pub(crate) mod organisation;
pub mod put_user_status;
pub mod start_chat_contact;
pub mod stop_contact;
pub mod transfer_contact;
pub mod update_contact;
pub mod update_contact_attributes;
pub mod update_contact_flow_content;
pub mod update_contact_flow_metadata;
pub mod update_contact_flow_name;
pub mod update_participant_role_config;
pub mod update_queue_status;
pub mod update_routing_profile_concurrency;
pub mod update_routing_profile_queues;
pub mod update_user_identity_info;
pub mod update_user_routing_profile;
pub mod update_view_content;
pub mod update_view_metadata;
pub(crate) mod views;

use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use liaison_core::{Contact, Flow, Instance};
use liaison_wire::{Api, ConnectError};
use std::collections::BTreeMap;

/// Largest total size of a contact's user attributes, in UTF-8 bytes of keys and values.
pub const MAX_ATTRIBUTES_BYTES: usize = 32_768;

/// Connect timestamps are epoch seconds as JSON numbers (fractions allowed).
pub fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The last path segment of an ARN (`…/instance/<id>`), or the text itself when it is a plain id.
pub fn id_from_arn(text: &str) -> &str {
    if text.starts_with("arn:") {
        text.rsplit('/').next().unwrap_or(text)
    } else {
        text
    }
}

/// An instance as both `ListInstances` (InstanceSummary) and `DescribeInstance` (Instance) show it.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceView {
    id: String,
    arn: String,
    identity_management_type: &'static str,
    instance_alias: String,
    created_time: f64,
    instance_status: &'static str,
    inbound_calls_enabled: bool,
    outbound_calls_enabled: bool,
}

impl InstanceView {
    pub fn new(state: &AppState, instance: Instance) -> Self {
        InstanceView {
            arn: state.config.instance_arn(&instance.id),
            id: instance.id,
            identity_management_type: "CONNECT_MANAGED",
            instance_alias: instance.alias,
            created_time: epoch_seconds(instance.created_ms),
            instance_status: "ACTIVE",
            inbound_calls_enabled: false,
            outbound_calls_enabled: false,
        }
    }
}

pub async fn find_instance(state: &AppState, instance_id: &str) -> Result<Instance, ApiError> {
    let id = id_from_arn(instance_id);
    state
        .store
        .get_instance(id)
        .await
        .or_internal(Api::Connect)?
        .ok_or_else(|| {
            ConnectError::ResourceNotFound(format!("Instance {instance_id} not found.")).into()
        })
}

/// The flow a `ContactFlowId` names (a plain id or an ARN, with or without a `:$SAVED`,
/// `:$LATEST` or version qualifier), and the qualifier.
pub async fn find_flow<'a>(
    state: &AppState,
    instance: &Instance,
    flow_ref: &'a str,
) -> Result<(Flow, Option<&'a str>), ApiError> {
    let qualified = id_from_arn(flow_ref);
    let (flow_id, qualifier) = match qualified.split_once(':') {
        Some((id, qualifier)) => (id, Some(qualifier)),
        None => (qualified, None),
    };
    let flow = state
        .store
        .get_flow(&instance.id, flow_id)
        .await
        .or_internal(Api::Connect)?;
    match flow {
        Some(flow) => Ok((flow, qualifier)),
        None => Err(
            ConnectError::ResourceNotFound(format!("Contact flow {flow_ref} not found.")).into(),
        ),
    }
}

/// Most problems `InvalidContactFlowException` lists (the model's limit).
const MAX_PROBLEMS: usize = 50;

/// Checks flow content for storing with `status`: a published flow must have no problem at all;
/// a saved one may contain action types Liaison does not run.
pub fn check_flow_content(content: &str, status: &str) -> Result<(), ApiError> {
    content_problems(content, status)
        .map_err(|problems| ConnectError::InvalidContactFlow { problems }.into())
}

/// The problems that keep content from being stored with `status`, at most [`MAX_PROBLEMS`].
pub fn content_problems(content: &str, status: &str) -> Result<(), Vec<String>> {
    let validation = liaison_core::flow::validate(content);
    let acceptable = if status == "SAVED" {
        validation.is_runnable()
    } else {
        validation.is_clean()
    };
    if acceptable {
        return Ok(());
    }
    Err(validation
        .problems
        .iter()
        .take(MAX_PROBLEMS)
        .map(ToString::to_string)
        .collect())
}

/// Refuses a flow name another flow of the instance has (`except`: the flow being renamed).
pub async fn check_flow_name_free(
    state: &AppState,
    instance_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let flows = state
        .store
        .list_flows(instance_id)
        .await
        .or_internal(Api::Connect)?;
    if flows
        .iter()
        .any(|flow| flow.name == name && Some(flow.id.as_str()) != except)
    {
        return Err(ConnectError::DuplicateResource(format!(
            "A contact flow named '{name}' already exists in this instance."
        ))
        .into());
    }
    Ok(())
}

/// Changes a flow's name, description and/or state (UpdateContactFlowName and
/// UpdateContactFlowMetadata); names stay unique within the instance.
pub async fn update_flow_metadata(
    state: &AppState,
    instance_id: &str,
    flow_ref: &str,
    name: Option<String>,
    description: Option<String>,
    flow_state: Option<String>,
) -> Result<(), ApiError> {
    let instance = find_instance(state, instance_id).await?;
    let (flow, _) = find_flow(state, &instance, flow_ref).await?;
    if let Some(name) = &name {
        check_flow_name_free(state, &instance.id, name, Some(&flow.id)).await?;
    }
    let updated = Flow {
        name: name.unwrap_or(flow.name.clone()),
        description: description.unwrap_or(flow.description.clone()),
        state: flow_state.unwrap_or(flow.state.clone()),
        modified_ms: state.clock.now_ms(),
        ..flow
    };
    state
        .store
        .update_flow(&updated)
        .await
        .or_internal(Api::Connect)?;
    Ok(())
}

/// A contact of the instance; `None` when there is no such contact there.
pub async fn find_contact(
    state: &AppState,
    instance: &Instance,
    contact_id: &str,
) -> Result<Option<Contact>, ApiError> {
    let contact = state
        .store
        .get_contact(contact_id)
        .await
        .or_internal(Api::Connect)?;
    Ok(contact.filter(|c| c.instance_id == instance.id))
}

/// A contact of the instance, or `ResourceNotFoundException` naming it.
pub async fn require_contact(
    state: &AppState,
    instance: &Instance,
    contact_id: &str,
) -> Result<Contact, ApiError> {
    find_contact(state, instance, contact_id)
        .await?
        .ok_or_else(|| {
            ConnectError::ResourceNotFound(format!("Contact {contact_id} not found.")).into()
        })
}

pub fn contact_arn(state: &AppState, contact: &Contact) -> String {
    format!(
        "{}/contact/{}",
        state.config.instance_arn(&contact.instance_id),
        contact.id
    )
}

/// Connect's rules for user-defined attributes: keys of letters, digits, `-` and `_`; at most
/// 32,768 bytes in total.
pub fn check_attribute_keys(attributes: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if let Some(key) = attributes.keys().find(|k| {
        !k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }) {
        return Err(ConnectError::InvalidParameter(format!(
            "Attribute key '{key}' is not valid: keys may contain only letters, digits, '-' and '_'."
        ))
        .into());
    }
    Ok(())
}

pub fn too_large_attributes(total_bytes: usize) -> ApiError {
    ConnectError::InvalidParameter(format!(
        "The attributes total {total_bytes} bytes; a contact's attributes may total at most {MAX_ATTRIBUTES_BYTES} bytes."
    ))
    .into()
}

/// One page of `items` after the position in `next_token`, and the token of the page after it.
pub fn paginate<T>(
    items: Vec<T>,
    next_token: Option<&str>,
    max_results: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match next_token {
        None => 0,
        Some(token) => URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                text.strip_prefix("offset:")
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .ok_or_else(|| {
                ApiError::from(ConnectError::InvalidParameter(
                    "The NextToken is not valid.".into(),
                ))
            })?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max_results).collect();
    let next = (start + page.len() < total)
        .then(|| URL_SAFE_NO_PAD.encode(format!("offset:{}", start + page.len())));
    Ok((page, next))
}
