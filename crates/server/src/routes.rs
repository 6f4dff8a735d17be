//! The router, built from the operation table, and the path every API request takes:
//! read the body → authenticate → bind and validate the input → run the operation's handler.

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{attachments, connect, flow_logs, participant, widgets, workspace, ws};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawPathParams, State};
use axum::http::{Method, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use liaison_wire::{
    Api, AuthScheme, ConnectError, InputError, Operation, ParticipantError, RawInput, catalog,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// Largest request body of the Connect API: flow content may be 256,000 characters, and JSON
/// clients escape each non-ASCII one as `\uXXXX` (12 bytes for a surrogate pair).
const CONNECT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest request body of the participant API (16 KiB of content, up to 4 bytes a character, plus JSON).
const PARTICIPANT_BODY_LIMIT: usize = 128 * 1024;

type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send>>;
/// A built operation: takes the authenticated caller and the validated input.
pub type Handler = fn(AppState, Caller, Value) -> HandlerFuture;

fn parse<T: DeserializeOwned>(api: Api, input: Value) -> Result<T, ApiError> {
    // The input already passed model validation, so this only fails on shapes the model leaves
    // open; report it as the surface's validation error all the same.
    serde_json::from_value(input)
        .map_err(|e| ApiError::invalid(api, format!("Invalid request: {e}"), false))
}

fn respond<T: Serialize>(result: Result<T, ApiError>) -> Result<Value, ApiError> {
    result.map(|output| {
        serde_json::to_value(output).unwrap_or_else(|_| Value::Object(Default::default()))
    })
}

macro_rules! connect_op {
    ($module:path) => {{
        use $module as op;
        |state: AppState, _caller: Caller, input: Value| -> HandlerFuture {
            Box::pin(async move { respond(op::handle(&state, parse(Api::Connect, input)?).await) })
        }
    }};
}

macro_rules! participant_op {
    ($module:path) => {{
        use $module as op;
        |state: AppState, caller: Caller, input: Value| -> HandlerFuture {
            Box::pin(async move {
                let participant = caller.participant()?;
                respond(op::handle(&state, &participant, parse(Api::Participant, input)?).await)
            })
        }
    }};
}

/// The handler of an operation, or `None` while Liaison does not implement it yet.
pub fn handler(api: Api, name: &str) -> Option<Handler> {
    Some(match (api, name) {
        (Api::Connect, "ListInstances") => connect_op!(connect::list_instances),
        (Api::Connect, "DescribeInstance") => connect_op!(connect::describe_instance),
        (Api::Connect, "StartChatContact") => connect_op!(connect::start_chat_contact),
        (Api::Connect, "StopContact") => connect_op!(connect::stop_contact),
        (Api::Connect, "TransferContact") => connect_op!(connect::transfer_contact),
        (Api::Connect, "DescribeContact") => connect_op!(connect::describe_contact),
        (Api::Connect, "GetContactAttributes") => connect_op!(connect::get_contact_attributes),
        (Api::Connect, "UpdateContact") => connect_op!(connect::update_contact),
        (Api::Connect, "UpdateContactAttributes") => {
            connect_op!(connect::update_contact_attributes)
        }
        (Api::Connect, "CreateContactFlow") => connect_op!(connect::create_contact_flow),
        (Api::Connect, "UpdateContactFlowContent") => {
            connect_op!(connect::update_contact_flow_content)
        }
        (Api::Connect, "UpdateContactFlowName") => connect_op!(connect::update_contact_flow_name),
        (Api::Connect, "UpdateContactFlowMetadata") => {
            connect_op!(connect::update_contact_flow_metadata)
        }
        (Api::Connect, "DeleteContactFlow") => connect_op!(connect::delete_contact_flow),
        (Api::Connect, "AssociateLambdaFunction") => {
            connect_op!(connect::associate_lambda_function)
        }
        (Api::Connect, "DisassociateLambdaFunction") => {
            connect_op!(connect::disassociate_lambda_function)
        }
        (Api::Connect, "ListLambdaFunctions") => connect_op!(connect::list_lambda_functions),
        (Api::Connect, "CreateParticipant") => connect_op!(connect::create_participant),
        (Api::Connect, "UpdateParticipantRoleConfig") => {
            connect_op!(connect::update_participant_role_config)
        }
        (Api::Connect, "ListContactFlows") => connect_op!(connect::list_contact_flows),
        (Api::Connect, "CreateContactFlowModule") => {
            connect_op!(connect::create_contact_flow_module)
        }
        (Api::Connect, "DescribeContactFlowModule") => {
            connect_op!(connect::describe_contact_flow_module)
        }
        (Api::Connect, "ListContactFlowModules") => {
            connect_op!(connect::list_contact_flow_modules)
        }
        (Api::Connect, "DescribeContactFlow") => connect_op!(connect::describe_contact_flow),
        (Api::Connect, "CreateUser") => connect_op!(connect::create_user),
        (Api::Connect, "DescribeUser") => connect_op!(connect::describe_user),
        (Api::Connect, "ListUsers") => connect_op!(connect::list_users),
        (Api::Connect, "UpdateUserRoutingProfile") => {
            connect_op!(connect::update_user_routing_profile)
        }
        (Api::Connect, "UpdateUserIdentityInfo") => connect_op!(connect::update_user_identity_info),
        (Api::Connect, "DeleteUser") => connect_op!(connect::delete_user),
        (Api::Connect, "PutUserStatus") => connect_op!(connect::put_user_status),
        (Api::Connect, "CreateRoutingProfile") => connect_op!(connect::create_routing_profile),
        (Api::Connect, "DescribeRoutingProfile") => connect_op!(connect::describe_routing_profile),
        (Api::Connect, "ListRoutingProfiles") => connect_op!(connect::list_routing_profiles),
        (Api::Connect, "AssociateRoutingProfileQueues") => {
            connect_op!(connect::associate_routing_profile_queues)
        }
        (Api::Connect, "ListRoutingProfileQueues") => {
            connect_op!(connect::list_routing_profile_queues)
        }
        (Api::Connect, "UpdateRoutingProfileConcurrency") => {
            connect_op!(connect::update_routing_profile_concurrency)
        }
        (Api::Connect, "UpdateRoutingProfileQueues") => {
            connect_op!(connect::update_routing_profile_queues)
        }
        (Api::Connect, "CreateQueue") => connect_op!(connect::create_queue),
        (Api::Connect, "DescribeQueue") => connect_op!(connect::describe_queue),
        (Api::Connect, "ListQueues") => connect_op!(connect::list_queues),
        (Api::Connect, "UpdateQueueStatus") => connect_op!(connect::update_queue_status),
        (Api::Connect, "CreateHoursOfOperation") => connect_op!(connect::create_hours_of_operation),
        (Api::Connect, "DescribeHoursOfOperation") => {
            connect_op!(connect::describe_hours_of_operation)
        }
        (Api::Connect, "ListHoursOfOperations") => connect_op!(connect::list_hours_of_operations),
        (Api::Connect, "CreateAgentStatus") => connect_op!(connect::create_agent_status),
        (Api::Connect, "DescribeAgentStatus") => connect_op!(connect::describe_agent_status),
        (Api::Connect, "ListAgentStatuses") => connect_op!(connect::list_agent_statuses),
        (Api::Connect, "ListSecurityProfiles") => connect_op!(connect::list_security_profiles),
        (Api::Connect, "CreateView") => connect_op!(connect::create_view),
        (Api::Connect, "DescribeView") => connect_op!(connect::describe_view),
        (Api::Connect, "ListViews") => connect_op!(connect::list_views),
        (Api::Connect, "UpdateViewContent") => connect_op!(connect::update_view_content),
        (Api::Connect, "UpdateViewMetadata") => connect_op!(connect::update_view_metadata),
        (Api::Connect, "DeleteView") => connect_op!(connect::delete_view),
        (Api::Participant, "CreateParticipantConnection") => {
            participant_op!(participant::create_participant_connection)
        }
        (Api::Participant, "SendMessage") => participant_op!(participant::send_message),
        (Api::Participant, "SendEvent") => participant_op!(participant::send_event),
        (Api::Participant, "GetTranscript") => participant_op!(participant::get_transcript),
        (Api::Participant, "StartAttachmentUpload") => {
            participant_op!(participant::start_attachment_upload)
        }
        (Api::Participant, "CompleteAttachmentUpload") => {
            participant_op!(participant::complete_attachment_upload)
        }
        (Api::Participant, "GetAttachment") => participant_op!(participant::get_attachment),
        (Api::Participant, "DisconnectParticipant") => {
            participant_op!(participant::disconnect_participant)
        }
        _ => return None,
    })
}

/// Every route of the server: one per operation of both models, the WebSocket gateway, flow
/// logs, health and metrics.
pub fn router(state: AppState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for op in &catalog().operations {
        let Ok(method) = Method::from_bytes(op.method.as_bytes()) else {
            continue;
        };
        let Ok(filter) = MethodFilter::try_from(method) else {
            continue;
        };
        let route = on(
            filter,
            move |State(state): State<AppState>, params: RawPathParams, request: Request<Body>| {
                serve_operation(state, op, params, request)
            },
        );
        let path = op.path.as_str();
        let merged = match by_path.remove(path) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        by_path.insert(path, merged);
    }
    let mut router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route(ws::PATH, get(ws::upgrade))
        .route(flow_logs::PATH, get(flow_logs::get_flow_logs))
        .merge(workspace::routes())
        .route(
            attachments::UPLOAD_PATH,
            axum::routing::put(attachments::upload),
        )
        .route(attachments::DOWNLOAD_PATH, get(attachments::download))
        .merge(widgets::routes());
    for (path, methods) in by_path {
        router = router.route(path, methods.fallback(unknown_operation));
    }
    router.fallback(unknown_operation).with_state(state)
}

/// `GET /ready` — 200 once the store answers, 503 while it does not (for load balancers).
async fn ready(State(state): State<AppState>) -> Response {
    match state.store.count_open_contacts().await {
        Ok(_) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: the store does not answer");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable",
            )
                .into_response()
        }
    }
}

/// `GET /metrics` — Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let active_chats = state.store.count_open_contacts().await.ok();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(active_chats),
    )
        .into_response()
}

/// Answer for a path or method no operation has.
async fn unknown_operation(method: Method, uri: axum::http::Uri) -> Response {
    let message = format!(
        "No Amazon Connect or Participant Service operation matches {method} {}.",
        uri.path()
    );
    ApiError::from(ConnectError::UnknownOperation(message)).into_response()
}

async fn serve_operation(
    state: AppState,
    op: &'static Operation,
    params: RawPathParams,
    request: Request<Body>,
) -> Response {
    let result = run_operation(&state, op, params, request).await;
    let outcome = match &result {
        Ok(_) => "OK",
        Err(error) => error.code(),
    };
    state
        .metrics
        .count_request(op.api.name(), &op.name, outcome);
    match result {
        Ok(output) => axum::Json(output).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn run_operation(
    state: &AppState,
    op: &'static Operation,
    params: RawPathParams,
    request: Request<Body>,
) -> Result<Value, ApiError> {
    let (parts, body) = request.into_parts();
    let limit = match op.api {
        Api::Connect => CONNECT_BODY_LIMIT,
        Api::Participant => PARTICIPANT_BODY_LIMIT,
    };
    let body: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::invalid(
            op.api,
            format!(
                "The request body is larger than the {limit} bytes {} accepts.",
                op.name
            ),
            false,
        )
    })?;

    let caller = match op.auth {
        AuthScheme::SigV4 => {
            auth::verify_admin_signature(state, &parts, &body)?;
            Caller::admin()
        }
        AuthScheme::ParticipantToken | AuthScheme::ConnectionToken => {
            let caller = auth::authenticate_participant(state, op.auth, &parts).await?;
            caller.authorize(&op.name)?;
            caller
        }
    };

    let Some(handler) = handler(op.api, &op.name) else {
        let message = format!(
            "Liaison does not implement the {} operation {} yet.",
            op.api.name(),
            op.name
        );
        return Err(match op.api {
            Api::Connect => ConnectError::InvalidRequest(message).into(),
            Api::Participant => ParticipantError::Validation(message).into(),
        });
    };

    let path: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let query = decode_query(parts.uri.query().unwrap_or(""));
    let input = liaison_wire::bind(
        op,
        RawInput {
            body: &body,
            path: &path,
            query: &query,
        },
    )
    .map_err(|e| match e {
        InputError::MalformedBody(message) => ApiError::invalid(op.api, message, false),
        InputError::Invalid(message) => {
            ApiError::invalid(op.api, message, op.may_return("InvalidParameterException"))
        }
    })?;
    handler(state.clone(), caller, input).await
}

/// Query pairs, percent-decoded (`+` is a space, as form encoding has it).
fn decode_query(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (decode(key), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_repeated_keys_in_order() {
        assert_eq!(
            decode_query(
                "contactFlowTypes=CONTACT_FLOW&contactFlowTypes=AGENT%5FWHISPER&nextToken=a+b&flag"
            ),
            vec![
                ("contactFlowTypes".to_string(), "CONTACT_FLOW".to_string()),
                ("contactFlowTypes".to_string(), "AGENT_WHISPER".to_string()),
                ("nextToken".to_string(), "a b".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }
}
