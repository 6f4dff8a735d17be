//! The agent workspace: the web app at `/workspace/` and its JSON API under `/workspace/api/`
//! (`docs/workspace-api.md`). The API covers what Connect keeps in its agent application
//! (signing in, status, offers, after-contact work); the chats themselves go through the
//! Participant Service API like any participant's.

use crate::agents::display_name;
use crate::connect::views::{FoundView, find_view};
use crate::routing::{AGENT_HINT_PREFIX, RoutingEvent};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use liaison_core::organisation::User;
use liaison_core::{ParticipantRole, TokenKind, TokenRecord, hash_token, new_token};
use liaison_store::{AgentContactState, AgentSession, OfferClosed, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// How long a sign-in lasts.
const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// The events socket looks at the state this often even without a wake-up (a hint from another
/// node can be lost), and notices an ended session.
const STATE_RECHECK: Duration = Duration::from_secs(5);
/// The security profile that opens the supervisor view.
const SUPERVISOR_PROFILE: &str = "Admin";
/// Close code of the events socket when the session has ended.
const SESSION_ENDED: u16 = 4001;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/workspace/api/sign-in", post(sign_in))
        .route("/workspace/api/sign-out", post(sign_out))
        .route("/workspace/api/state", get(get_state))
        .route("/workspace/api/status", put(put_status))
        .route(
            "/workspace/api/offers/{contact_id}/accept",
            post(accept_offer),
        )
        .route(
            "/workspace/api/offers/{contact_id}/reject",
            post(reject_offer),
        )
        .route("/workspace/api/contacts/{contact_id}", get(contact_details))
        .route(
            "/workspace/api/contacts/{contact_id}/participant-token",
            post(participant_token),
        )
        .route(
            "/workspace/api/contacts/{contact_id}/clear",
            post(clear_contact),
        )
        .route(
            "/workspace/api/contacts/{contact_id}/guide",
            post(answer_guide),
        )
        .route(
            "/workspace/api/contacts/{contact_id}/transcript",
            get(contact_transcript),
        )
        .route("/workspace/api/events", get(events))
        .route("/workspace/api/supervisor", get(supervisor))
        .route(
            "/workspace/api/{*rest}",
            axum::routing::any(unknown_endpoint),
        )
        .route(
            "/workspace",
            get(|| async { Redirect::permanent("/workspace/") }),
        )
        .route("/workspace/", get(|| assets::serve("index.html")))
        .route(
            "/workspace/{*path}",
            get(|Path(path): Path<String>| assets::serve_or_index(path)),
        )
}

/// A workspace API error: a status and `{"error", "message"}`.
#[derive(Debug)]
pub struct WorkspaceError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl WorkspaceError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WorkspaceError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Sign in first: this needs `Authorization: Bearer <token>` from /workspace/api/sign-in.",
        )
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    fn offer_closed(contact_id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "OfferClosed",
            format!(
                "Contact {contact_id} has no open offer to you: it timed out, was withdrawn, or the customer left."
            ),
        )
    }
}

impl From<StoreError> for WorkspaceError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "workspace request failed in the store");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "Liaison could not complete the request; try again.",
        )
    }
}

impl IntoResponse for WorkspaceError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response()
    }
}

type Answer = Result<Response, WorkspaceError>;

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, WorkspaceError> {
    serde_json::from_slice(body)
        .map_err(|e| WorkspaceError::invalid(format!("Invalid JSON body: {e}")))
}

/// A signed-in agent: their session and user.
pub struct SignedIn {
    session: AgentSession,
    user: User,
}

async fn signed_in(state: &AppState, token: &str) -> Result<SignedIn, WorkspaceError> {
    let now = state.clock.now_ms();
    let session = state
        .store
        .agent_session(&hash_token(token), now)
        .await?
        .ok_or_else(WorkspaceError::unauthorized)?;
    let user = state
        .store
        .get_user(&session.instance_id, &session.user_id)
        .await?
        .ok_or_else(WorkspaceError::unauthorized)?;
    Ok(SignedIn { session, user })
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = WorkspaceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(WorkspaceError::unauthorized)?;
        signed_in(state, token.trim()).await
    }
}

async fn agent_json(state: &AppState, user: &User) -> Result<Value, WorkspaceError> {
    let profile = state
        .store
        .get_routing_profile(&user.instance_id, &user.routing_profile_id)
        .await?;
    let routing_profile = profile.map(|profile| {
        let chat_concurrency = profile
            .media_concurrencies
            .iter()
            .find(|media| media.channel == "CHAT")
            .map_or(0, |media| media.concurrency);
        json!({"id": profile.id, "name": profile.name, "chatConcurrency": chat_concurrency})
    });
    Ok(json!({
        "userId": user.id,
        "username": user.username,
        "displayName": display_name(user),
        "instanceId": user.instance_id,
        "routingProfile": routing_profile,
        "isSupervisor": is_supervisor(state, user).await?,
    }))
}

/// Whether the user holds the instance's `Admin` security profile, which the supervisor view
/// needs.
async fn is_supervisor(state: &AppState, user: &User) -> Result<bool, StoreError> {
    Ok(state
        .store
        .list_security_profiles(&user.instance_id)
        .await?
        .iter()
        .any(|profile| {
            profile.name == SUPERVISOR_PROFILE && user.security_profile_ids.contains(&profile.id)
        }))
}

/// The customer's display name in a chat.
async fn customer_name(state: &AppState, contact_id: &str) -> Result<Option<String>, StoreError> {
    Ok(state
        .store
        .list_participants(contact_id)
        .await?
        .into_iter()
        .find(|p| p.role == ParticipantRole::Customer)
        .map(|p| p.display_name))
}

/// Everything the workspace shows of an agent (see `State` in the API document).
async fn agent_state(state: &AppState, user: &User) -> Result<Value, WorkspaceError> {
    let instance_id = &user.instance_id;
    let statuses: Vec<_> = state
        .store
        .list_agent_statuses(instance_id)
        .await?
        .into_iter()
        .filter(|status| {
            status.state == "ENABLED"
                || user
                    .status
                    .as_ref()
                    .is_some_and(|s| s.agent_status_id == status.id)
        })
        .collect();
    let status = user.status.as_ref().and_then(|current| {
        statuses
            .iter()
            .find(|status| status.id == current.agent_status_id)
            .map(|status| json!({"id": status.id, "name": status.name, "type": status.status_type, "since": current.since_ms}))
    });
    let missed = state
        .store
        .agent_routing(instance_id, &user.id)
        .await?
        .is_some_and(|routing| routing.missed);
    let queue_names: HashMap<String, String> = state
        .store
        .list_queues(instance_id)
        .await?
        .into_iter()
        .collect();
    let mut offers = Vec::new();
    for offer in state.store.offers_to(&user.id).await? {
        let Some((_, deadline)) = offer.offer else {
            continue;
        };
        offers.push(json!({
            "contactId": offer.contact_id,
            "queueId": offer.queue_id,
            "queueName": queue_names.get(&offer.queue_id),
            "customerName": customer_name(state, &offer.contact_id).await?,
            "deadline": deadline,
            // Every offer lasts the same time.
            "offeredAt": deadline - state.offer_timeout_ms(),
        }));
    }
    let mut taken = state.store.agent_contacts(&user.id).await?;
    // Read again only when a due guide was started, to show it.
    if state.start_due_guides(user, &taken).await? {
        taken = state.store.agent_contacts(&user.id).await?;
    }
    let mut contacts = Vec::new();
    for contact in taken {
        let guide = match &contact.guide_contact_id {
            Some(guide_id) => guide_json(state, instance_id, guide_id).await?,
            None => Value::Null,
        };
        contacts.push(json!({
            "contactId": contact.contact_id,
            "queueName": queue_names.get(&contact.queue_id),
            "customerName": customer_name(state, &contact.contact_id).await?,
            "state": state_name(contact.state),
            "acceptedAt": contact.accepted_ms,
            "endedAt": contact.ended_ms,
            "guide": guide,
        }));
    }
    Ok(json!({
        "now": state.clock.now_ms(),
        "agent": agent_json(state, user).await?,
        "status": status,
        "missed": missed,
        "statuses": statuses.iter().filter(|s| s.state == "ENABLED").map(|s| json!({"id": s.id, "name": s.name, "type": s.status_type})).collect::<Vec<_>>(),
        "offers": offers,
        "contacts": contacts,
    }))
}

/// A running guide as the workspace shows it: the view it waits on (`null` between views),
/// or `null` for a guide that has ended.
async fn guide_json(
    state: &AppState,
    instance_id: &str,
    guide_id: &str,
) -> Result<Value, WorkspaceError> {
    let Some(guide) = state.store.get_contact(guide_id).await? else {
        return Ok(Value::Null);
    };
    if !guide.is_open() {
        return Ok(Value::Null);
    }
    let Some(pending) = state.pending_view(guide_id).await? else {
        return Ok(json!({"contactId": guide_id, "view": null}));
    };
    let instance = state.store.get_instance(instance_id).await?;
    let found = match &instance {
        Some(instance) => find_view(state, instance, &pending.view.view).await.ok(),
        None => None,
    };
    let view = match found {
        Some(FoundView::AwsManaged(view)) => json!({
            "ref": pending.view.view,
            "name": view.name,
            "managed": true,
            "actions": view.actions,
        }),
        Some(FoundView::CustomerManaged(view)) => json!({
            "ref": pending.view.view,
            "name": view.name,
            "managed": false,
            "template": serde_json::from_str::<Value>(&view.template).unwrap_or(Value::Null),
            "actions": view.actions,
        }),
        None => json!({"ref": pending.view.view, "name": null, "managed": false, "actions": []}),
    };
    Ok(json!({
        "contactId": guide_id,
        "view": view,
        "viewData": pending.view.data,
        "deadline": pending.deadline_ms,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GuideAnswer {
    action: String,
    #[serde(default)]
    view_result_data: Value,
}

/// `POST /workspace/api/contacts/{contactId}/guide` — the agent's answer to the view their
/// after-contact-work guide shows (`{"action", "viewResultData"}`); the guide goes on.
async fn answer_guide(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
    body: Bytes,
) -> Answer {
    let answer: GuideAnswer = parse_body(&body)?;
    let taken = own_contact(&state, &agent.user, &contact_id).await?;
    let pending = match &taken.guide_contact_id {
        Some(guide_id) => state.pending_view(guide_id).await?,
        None => None,
    };
    let Some(pending) = pending else {
        return Err(WorkspaceError::new(
            StatusCode::CONFLICT,
            "WrongState",
            format!("The guide of contact {contact_id} is not waiting for an answer."),
        ));
    };
    if answer.action.is_empty() {
        return Err(WorkspaceError::invalid(
            "`action` names the view's action the agent chose.",
        ));
    }
    state.answer_view(
        &pending.guide_contact_id,
        answer.action,
        answer.view_result_data,
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInRequest {
    username: String,
    password: String,
    instance_id: Option<String>,
}

/// `POST /workspace/api/sign-in` — a session for a user's username and password.
async fn sign_in(State(state): State<AppState>, body: Bytes) -> Answer {
    let request: SignInRequest = parse_body(&body)?;
    let instance_id = match request.instance_id {
        Some(id) => id,
        None => state
            .store
            .list_instances()
            .await?
            .into_iter()
            .next()
            .map(|instance| instance.id)
            .ok_or_else(|| WorkspaceError::not_found("This Liaison has no instance."))?,
    };
    let user = state
        .store
        .verify_user_password(&instance_id, &request.username, &request.password)
        .await?
        .ok_or_else(|| {
            WorkspaceError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidCredentials",
                "The username or password is not right.",
            )
        })?;
    let token = new_token();
    let session = AgentSession {
        token_hash: hash_token(&token),
        instance_id: user.instance_id.clone(),
        user_id: user.id.clone(),
        expires_ms: state.clock.now_ms() + SESSION_MS,
    };
    state
        .store
        .create_agent_session(&session, state.clock.now_ms())
        .await?;
    tracing::info!(user_id = user.id, "agent signed in");
    Ok(axum::Json(json!({
        "token": token,
        "expiresAt": session.expires_ms,
        "agent": agent_json(&state, &user).await?,
    }))
    .into_response())
}

/// `POST /workspace/api/sign-out` — ends the session.
async fn sign_out(State(state): State<AppState>, agent: SignedIn) -> Answer {
    state
        .store
        .delete_agent_session(&agent.session.token_hash)
        .await?;
    state.wake_agent(&agent.user.id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /workspace/api/state` — the agent's state.
async fn get_state(State(state): State<AppState>, agent: SignedIn) -> Answer {
    Ok(axum::Json(agent_state(&state, &agent.user).await?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusRequest {
    agent_status_id: String,
}

/// `PUT /workspace/api/status` — sets the agent's status (as PutUserStatus does). Contacts in
/// after-contact work stay until the agent clears them.
async fn put_status(State(state): State<AppState>, agent: SignedIn, body: Bytes) -> Answer {
    let request: StatusRequest = parse_body(&body)?;
    let user = &agent.user;
    let status = state
        .store
        .get_agent_status(&user.instance_id, &request.agent_status_id)
        .await?
        .filter(|status| status.state == "ENABLED")
        .ok_or_else(|| {
            WorkspaceError::invalid(format!(
                "No enabled agent status {}.",
                request.agent_status_id
            ))
        })?;
    state
        .store
        .set_user_status(
            &user.instance_id,
            &user.id,
            &status.id,
            state.clock.now_ms(),
        )
        .await?;
    state.agent_changed(&user.instance_id, &user.id);
    let user = state
        .store
        .get_user(&user.instance_id, &user.id)
        .await?
        .ok_or_else(WorkspaceError::unauthorized)?;
    Ok(axum::Json(agent_state(&state, &user).await?).into_response())
}

/// `POST /workspace/api/offers/{contactId}/accept` — the agent takes the chat and joins it.
async fn accept_offer(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
) -> Answer {
    let user = &agent.user;
    let participant_id = liaison_core::new_record_id();
    let now = state.clock.now_ms();
    let (agent_ui_flow, after_contact_flow) = state.agent_ui_flows(&contact_id).await?;
    let Some(taken) = state
        .store
        .take_offer(
            &contact_id,
            &user.id,
            &participant_id,
            after_contact_flow.as_deref(),
            now,
        )
        .await?
    else {
        return Err(WorkspaceError::offer_closed(&contact_id));
    };
    state.routing_event(RoutingEvent::OfferAccepted {
        instance_id: user.instance_id.clone(),
        contact_id: contact_id.clone(),
        user_id: user.id.clone(),
    });
    let joined = match state.join_agent(&contact_id, &participant_id, user).await {
        Ok(joined) => joined,
        Err(error) => {
            // The chat left its queue for an agent who could not join it: it goes back to
            // the queue (at the back) and the agent's slot is free again.
            tracing::error!(%error, contact_id, "an accepted chat could not take its agent");
            state
                .enqueue_contact(&user.instance_id, &contact_id, &taken.queue_id)
                .await?;
            state
                .store
                .clear_agent_contact(&contact_id, &user.id, now)
                .await?;
            state.agent_changed(&user.instance_id, &user.id);
            return Err(error.into());
        }
    };
    let Some(joined) = joined else {
        // The customer left as the agent accepted: the contact frees its slot at once.
        state
            .store
            .clear_agent_contact(&contact_id, &user.id, now)
            .await?;
        state.agent_changed(&user.instance_id, &user.id);
        return Err(WorkspaceError::offer_closed(&contact_id));
    };
    if let Some(flow_ref) = &agent_ui_flow
        && let Err(error) = state
            .start_guide(&taken, flow_ref, &display_name(user))
            .await
    {
        tracing::error!(%error, contact_id, "could not start the contact's default guide");
    }
    state.wake_agent(&user.id);
    tracing::info!(contact_id, user_id = user.id, "agent accepted a chat");
    Ok(axum::Json(json!({
        "contactId": contact_id,
        "participantId": joined.participant.id,
        "participantToken": joined.participant_token,
    }))
    .into_response())
}

/// `POST /workspace/api/offers/{contactId}/reject` — the agent declines the chat.
async fn reject_offer(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
) -> Answer {
    let user = &agent.user;
    if !state
        .store
        .close_offer(&contact_id, &user.id, OfferClosed::Rejected, None)
        .await?
    {
        return Err(WorkspaceError::offer_closed(&contact_id));
    }
    state.routing_event(RoutingEvent::OfferRejected {
        instance_id: user.instance_id.clone(),
        contact_id,
        user_id: user.id.clone(),
    });
    state.wake_agent(&user.id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The agent's uncleared contact with that id.
async fn own_contact(
    state: &AppState,
    user: &User,
    contact_id: &str,
) -> Result<liaison_store::AgentContact, WorkspaceError> {
    find_own_contact(state, user, contact_id)
        .await?
        .ok_or_else(|| not_yours(contact_id))
}

/// The agent's uncleared contact with that id, if they have it.
async fn find_own_contact(
    state: &AppState,
    user: &User,
    contact_id: &str,
) -> Result<Option<liaison_store::AgentContact>, StoreError> {
    Ok(state
        .store
        .agent_contacts(&user.id)
        .await?
        .into_iter()
        .find(|contact| contact.contact_id == contact_id))
}

fn not_yours(contact_id: &str) -> WorkspaceError {
    WorkspaceError::not_found(format!("Contact {contact_id} is not one of yours."))
}

/// How the API names where an accepted contact stands for its agent.
fn state_name(state: AgentContactState) -> &'static str {
    match state {
        AgentContactState::Connected => "CONNECTED",
        AgentContactState::AfterContactWork => "AFTER_CONTACT_WORK",
    }
}

/// `POST /workspace/api/contacts/{contactId}/participant-token` — a new participant token for
/// a chat the agent is in (after a reload).
async fn participant_token(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
) -> Answer {
    let taken = own_contact(&state, &agent.user, &contact_id).await?;
    let contact = state.store.get_contact(&contact_id).await?;
    let open =
        contact.filter(|contact| contact.is_open() && taken.state == AgentContactState::Connected);
    let Some(contact) = open else {
        return Err(WorkspaceError::new(
            StatusCode::CONFLICT,
            "WrongState",
            format!("The chat of contact {contact_id} has ended for you."),
        ));
    };
    let token = new_token();
    state
        .store
        .insert_tokens(&[TokenRecord {
            hash: hash_token(&token),
            kind: TokenKind::Participant,
            participant_id: taken.participant_id.clone(),
            contact_id: contact.id.clone(),
            expires_ms: Some(contact.expires_ms),
        }])
        .await?;
    Ok(axum::Json(json!({
        "contactId": contact.id,
        "participantId": taken.participant_id,
        "participantToken": token,
    }))
    .into_response())
}

/// `GET /workspace/api/contacts/{contactId}` — what the agent sees of a contact offered to them
/// or taken by them: the customer, the queue and the contact attributes.
async fn contact_details(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
) -> Answer {
    let user = &agent.user;
    let (queue_id, agent_state) = match find_own_contact(&state, user, &contact_id).await? {
        Some(taken) => (taken.queue_id, state_name(taken.state)),
        None => {
            let offered = state
                .store
                .queued_contact(&contact_id)
                .await?
                .filter(|queued| queued.offer.as_ref().is_some_and(|(to, _)| *to == user.id))
                .ok_or_else(|| not_yours(&contact_id))?;
            (offered.queue_id, "OFFERED")
        }
    };
    let contact = state
        .store
        .get_contact(&contact_id)
        .await?
        .ok_or_else(|| WorkspaceError::not_found(format!("Contact {contact_id} not found.")))?;
    let queue_name = state
        .store
        .get_queue(&contact.instance_id, &queue_id)
        .await?
        .map(|queue| queue.name);
    Ok(axum::Json(json!({
        "contactId": contact.id,
        "customerName": customer_name(&state, &contact.id).await?,
        "queueName": queue_name,
        "initiationMethod": "API",
        "startedAt": contact.initiated_ms,
        "state": agent_state,
        "name": contact.data.name,
        "description": contact.data.description,
        "attributes": contact.attributes,
    }))
    .into_response())
}

/// Items a contact's transcript shows the agent at most: a chat's 16 KiB messages make this
/// a few megabytes at worst.
const TRANSCRIPT_ITEMS: u32 = 1_000;

/// `GET /workspace/api/contacts/{contactId}/transcript` — the chat as the Participant API's
/// GetTranscript shows it, oldest first, for a contact the agent has not cleared: after-contact
/// work reads it once the agent's own connection is gone.
async fn contact_transcript(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
) -> Answer {
    own_contact(&state, &agent.user, &contact_id).await?;
    let contact = state
        .store
        .get_contact(&contact_id)
        .await?
        .ok_or_else(|| WorkspaceError::not_found(format!("Contact {contact_id} not found.")))?;
    let items = state
        .store
        .transcript_page(
            &contact_id,
            liaison_core::transcript::ScanDirection::Forward,
            None,
            TRANSCRIPT_ITEMS,
            ParticipantRole::Agent,
        )
        .await?;
    Ok(axum::Json(json!({
        "initialContactId": contact.initial_contact_id,
        "transcript": items.iter().map(|item| item.to_wire(None)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /workspace/api/contacts/{contactId}/clear` — ends after-contact work (leaving the chat
/// first if the agent is still in it); the chat slot is free again.
async fn clear_contact(
    State(state): State<AppState>,
    agent: SignedIn,
    Path(contact_id): Path<String>,
) -> Answer {
    let user = &agent.user;
    let taken = own_contact(&state, user, &contact_id).await?;
    if taken.state == AgentContactState::Connected {
        leave_chat(&state, &contact_id, &taken.participant_id).await?;
    }
    state
        .store
        .clear_agent_contact(&contact_id, &user.id, state.clock.now_ms())
        .await?;
    state.agent_changed(&user.instance_id, &user.id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The agent leaves an open chat, as DisconnectParticipant would.
async fn leave_chat(
    state: &AppState,
    contact_id: &str,
    participant_id: &str,
) -> Result<(), StoreError> {
    let Some(contact) = state.store.get_contact(contact_id).await? else {
        return Ok(());
    };
    let participant = state
        .store
        .list_participants(contact_id)
        .await?
        .into_iter()
        .find(|p| p.id == participant_id && p.left_ms.is_none());
    if let (true, Some(participant)) = (contact.is_open(), participant) {
        state.leave(&contact, &participant).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct EventsQuery {
    token: Option<String>,
}

/// `GET /workspace/api/events?token=…` — a WebSocket that pushes the agent's state whenever it
/// changes.
async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Answer {
    let upgrade = upgrade.map_err(|_| {
        WorkspaceError::invalid("The events endpoint is a WebSocket: open it with an upgrade.")
    })?;
    // A refused session is told on the socket (close code 4001), so the app can tell it from a
    // network failure.
    let agent = match query.token {
        Some(token) => signed_in(&state, &token).await.ok(),
        None => None,
    };
    Ok(upgrade.on_upgrade(move |mut socket| async move {
        match agent {
            Some(agent) => follow_state(state, agent, socket).await,
            None => close_session_ended(&mut socket).await,
        }
    }))
}

async fn close_session_ended(socket: &mut WebSocket) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: SESSION_ENDED,
            reason: "session ended".into(),
        })))
        .await;
}

async fn follow_state(state: AppState, agent: SignedIn, mut socket: WebSocket) {
    let mut wakes = state
        .bus
        .subscribe(&format!("{AGENT_HINT_PREFIX}{}", agent.user.id));
    let mut recheck = tokio::time::interval(STATE_RECHECK);
    let mut last_sent = String::new();
    loop {
        let session = state
            .store
            .agent_session(&agent.session.token_hash, state.clock.now_ms())
            .await;
        let user = match session {
            Ok(Some(_)) => {
                state
                    .store
                    .get_user(&agent.user.instance_id, &agent.user.id)
                    .await
            }
            Ok(None) => Ok(None),
            Err(error) => Err(error),
        };
        match user {
            Ok(Some(user)) => {
                // A failure is logged where it happened; the next wake-up tries again.
                if let Ok(mut current) = agent_state(&state, &user).await {
                    // `now` changes every time; only a change of the rest is news.
                    let now = current
                        .as_object_mut()
                        .and_then(|object| object.remove("now"));
                    let text = current.to_string();
                    if text != last_sent {
                        if let (Some(object), Some(now)) = (current.as_object_mut(), now) {
                            object.insert("now".into(), now);
                        }
                        let frame = json!({"type": "state", "state": current}).to_string();
                        if socket.send(Message::Text(frame.into())).await.is_err() {
                            return;
                        }
                        last_sent = text;
                    }
                }
            }
            Ok(None) => {
                close_session_ended(&mut socket).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "could not read an agent's state for their workspace")
            }
        }
        tokio::select! {
            changed = wakes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = recheck.tick() => {}
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let is_ping = serde_json::from_str::<Value>(&text)
                        .ok()
                        .is_some_and(|value| value["type"] == "ping");
                    if is_ping && socket.send(Message::Text(json!({"type": "pong"}).to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// `GET /workspace/api/supervisor` — the instance's queues with their waiting contacts, and its
/// agents with their status and contacts (for users with the Admin security profile).
async fn supervisor(State(state): State<AppState>, agent: SignedIn) -> Answer {
    let instance_id = &agent.user.instance_id;
    if !is_supervisor(&state, &agent.user).await? {
        return Err(WorkspaceError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("The supervisor view needs the {SUPERVISOR_PROFILE} security profile."),
        ));
    }
    let now = state.clock.now_ms();
    let routing: HashMap<String, liaison_store::AgentRouting> = state
        .store
        .agents_routing(instance_id)
        .await?
        .into_iter()
        .map(|routing| (routing.user_id.clone(), routing))
        .collect();
    let queued = state.store.queued_contacts(instance_id).await?;
    let queues: Vec<Value> = state
        .store
        .list_queues(instance_id)
        .await?
        .into_iter()
        // Agent queues (their ids are their users') only while someone waits in them.
        .filter(|(id, _)| !routing.contains_key(id) || queued.iter().any(|q| &q.queue_id == id))
        .map(|(id, name)| {
            let waiting: Vec<_> = queued.iter().filter(|q| q.queue_id == id).collect();
            json!({
                "id": id,
                "name": name,
                "waiting": waiting.len(),
                "offered": waiting.iter().filter(|q| q.offer.is_some()).count(),
                "oldestEnqueuedAt": waiting.iter().map(|q| q.enqueued_ms).min(),
            })
        })
        .collect();
    let statuses: HashMap<String, (String, String)> = state
        .store
        .list_agent_statuses(instance_id)
        .await?
        .into_iter()
        .map(|status| (status.id, (status.name, status.status_type)))
        .collect();
    let mut agents = Vec::new();
    for user in state.store.list_users(instance_id).await? {
        let status = user.status.as_ref().and_then(|current| {
            statuses.get(&current.agent_status_id).map(|(name, kind)| {
                json!({"id": current.agent_status_id, "name": name, "type": kind, "since": current.since_ms})
            })
        });
        let contacts = state.store.agent_contacts(&user.id).await?;
        let after_contact_work = contacts
            .iter()
            .filter(|c| c.state == AgentContactState::AfterContactWork)
            .count();
        agents.push(json!({
            "userId": user.id,
            "username": user.username,
            "displayName": display_name(&user),
            "status": status,
            "missed": routing.get(&user.id).is_some_and(|r| r.missed),
            "connected": contacts.len() - after_contact_work,
            "afterContactWork": after_contact_work,
            "offers": queued.iter().filter(|q| q.offer.as_ref().is_some_and(|(to, _)| *to == user.id)).count(),
        }));
    }
    Ok(axum::Json(json!({"now": now, "queues": queues, "agents": agents})).into_response())
}

/// `/workspace/api/…` paths that name no endpoint.
async fn unknown_endpoint() -> WorkspaceError {
    WorkspaceError::not_found("No such workspace API endpoint; see docs/workspace-api.md.")
}

/// The built web app (`web/dist/workspace`, built with `npm run build` in `web/`), compiled
/// into the binary.
mod assets {
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};

    #[derive(rust_embed::RustEmbed)]
    #[folder = "../../web/dist/workspace"]
    #[allow_missing = true]
    struct Workspace;

    pub async fn serve(path: &str) -> Response {
        match Workspace::get(path) {
            Some(file) => {
                let cache = if path.starts_with("assets/") {
                    // Vite names these by content hash.
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                };
                (
                    [
                        (header::CONTENT_TYPE, file.metadata.mimetype().to_string()),
                        (header::CACHE_CONTROL, cache.to_string()),
                    ],
                    file.data,
                )
                    .into_response()
            }
            None if path == "index.html" => (
                StatusCode::NOT_FOUND,
                "The agent workspace is not built into this binary: run `npm ci && npm run build` in web/ and build Liaison again.",
            )
                .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }

    /// A file of the app, or the app itself for its own client-side paths.
    pub async fn serve_or_index(path: String) -> Response {
        if Workspace::get(&path).is_some() {
            serve(&path).await
        } else if path.starts_with("assets/") {
            StatusCode::NOT_FOUND.into_response()
        } else {
            serve("index.html").await
        }
    }
}
