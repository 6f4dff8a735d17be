use crate::auth::ParticipantCaller;
use crate::error::{ApiError, OrInternal};
use crate::participant::invalid;
use crate::state::AppState;
use liaison_core::parse_iso_millis;
use liaison_core::transcript::{Anchor, Continuation, DEFAULT_PAGE_SIZE, ScanDirection};
use liaison_wire::{Api, ParticipantError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    contact_id: Option<String>,
    max_results: Option<u32>,
    next_token: Option<String>,
    scan_direction: Option<String>,
    sort_order: Option<String>,
    start_position: Option<StartPosition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartPosition {
    id: Option<String>,
    absolute_time: Option<String>,
    most_recent: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    initial_contact_id: String,
    transcript: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// The anchor of a `StartPosition`; an empty object (what ChatJS always sends) is no anchor.
fn anchor_of(position: Option<StartPosition>) -> Result<Option<Anchor>, ApiError> {
    let Some(position) = position else {
        return Ok(None);
    };
    let mut anchors = Vec::new();
    if let Some(id) = position.id {
        anchors.push(Anchor::Id(id));
    }
    if let Some(text) = position.absolute_time {
        let at = parse_iso_millis(&text)
            .ok_or_else(|| invalid(format!("StartPosition.AbsoluteTime '{text}' is not an ISO-8601 time such as 2019-11-08T02:41:28.172Z.")))?;
        anchors.push(Anchor::Time(at));
    }
    if let Some(offset) = position.most_recent {
        anchors.push(Anchor::MostRecent(offset));
    }
    if anchors.len() > 1 {
        return Err(invalid(
            "StartPosition may set only one of Id, AbsoluteTime and MostRecent.",
        ));
    }
    Ok(anchors.pop())
}

/// `POST /participant/transcript` — pages through the chat's stored items (messages, events,
/// receipts; not typing; whisper messages only for the side they were for). Without a start
/// position the scan walks back from the newest item.
pub async fn handle(
    state: &AppState,
    caller: &ParticipantCaller,
    request: Request,
) -> Result<Response, ApiError> {
    let contact = &caller.contact;
    if let Some(asked) = &request.contact_id
        && asked != &contact.id
        && asked != &contact.initial_contact_id
    {
        return Err(ParticipantError::AccessDenied(format!(
            "Contact {asked} is not this participant's chat."
        ))
        .into());
    }
    let anchor = anchor_of(request.start_position)?;
    let direction = match request.scan_direction.as_deref() {
        Some("FORWARD") => ScanDirection::Forward,
        Some(_) => ScanDirection::Backward,
        None if anchor.is_some() => ScanDirection::Forward,
        None => ScanDirection::Backward,
    };
    let limit = request.max_results.unwrap_or(DEFAULT_PAGE_SIZE);
    let from_seq = match (&request.next_token, &anchor) {
        (Some(token), _) => {
            let continuation = Continuation::decode(token)
                .ok_or_else(|| invalid("The NextToken is not valid."))?;
            if continuation.direction != direction {
                return Err(invalid(
                    "The NextToken belongs to a scan in the other direction.",
                ));
            }
            Some(continuation.seq)
        }
        (None, Some(anchor)) => {
            let seq = state
                .store
                .transcript_anchor(&contact.id, anchor, direction, caller.participant.role)
                .await
                .or_internal(Api::Participant)?;
            match (seq, anchor) {
                (Some(seq), _) => Some(seq),
                (None, Anchor::Id(id)) => {
                    return Err(invalid(format!(
                        "StartPosition.Id {id} is not an item of this chat."
                    )));
                }
                // Nothing at or beyond that time or offset: an empty page.
                (None, _) => {
                    return Ok(Response {
                        initial_contact_id: contact.initial_contact_id.clone(),
                        transcript: Vec::new(),
                        next_token: None,
                    });
                }
            }
        }
        (None, None) => None,
    };
    let mut page = if limit == 0 {
        Vec::new()
    } else {
        state
            .store
            .transcript_page(
                &contact.id,
                direction,
                from_seq,
                limit + 1,
                caller.participant.role,
            )
            .await
            .or_internal(Api::Participant)?
    };
    let next_token = (page.len() > limit as usize).then(|| {
        Continuation {
            direction,
            seq: page[limit as usize].seq,
        }
        .encode()
    });
    page.truncate(limit as usize);
    match request.sort_order.as_deref() {
        Some("ASCENDING") => page.sort_by_key(|item| item.seq),
        _ => page.sort_by_key(|item| std::cmp::Reverse(item.seq)),
    }
    Ok(Response {
        initial_contact_id: contact.initial_contact_id.clone(),
        transcript: page.iter().map(|item| item.to_wire(None)).collect(),
        next_token,
    })
}
