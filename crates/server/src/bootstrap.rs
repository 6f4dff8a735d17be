//! What exists after the first start: a default instance with a queue and the built-in flows
//! (inbound chat, customer queue, disconnect), so a fresh Liaison answers `ListInstances` and can
//! start a chat straight away.

use liaison_core::organisation::{
    AgentStatus, DayHours, HoursOfOperation, IdentityInfo, MediaConcurrency, Queue, RoutingProfile,
    RoutingProfileQueue, SecurityProfile, Tags, TimeSlice, User,
};
use liaison_core::{Clock, Flow, Instance};
use liaison_store::{Store, StoreError};

pub const DEFAULT_INSTANCE_ALIAS: &str = "liaison";
pub const DEFAULT_QUEUE_NAME: &str = "BasicQueue";
pub const DEFAULT_FLOW_NAME: &str = "Default chat flow";
pub const DEFAULT_CUSTOMER_QUEUE_FLOW_NAME: &str = "Default customer queue";
pub const DEFAULT_DISCONNECT_FLOW_NAME: &str = "Default disconnect flow";
pub const BASIC_HOURS_NAME: &str = "Basic Hours";
pub const BASIC_ROUTING_PROFILE_NAME: &str = "Basic Routing Profile";
/// The security profiles every instance has, with their descriptions.
const SECURITY_PROFILES: [(&str, &str); 2] = [
    (
        "Admin",
        "Manages the instance: users, routing, queues and flows.",
    ),
    ("Agent", "Handles contacts in the agent workspace."),
];
/// The agent statuses every instance has: name, type, display order and description.
const SYSTEM_AGENT_STATUSES: [(&str, &str, i64, &str); 2] = [
    (
        "Available",
        "ROUTABLE",
        1,
        "Contacts are routed to the agent.",
    ),
    ("Offline", "OFFLINE", 2, "The agent takes no contacts."),
];

/// The default customer-queue flow: a word on entering the queue, then a reminder every five
/// minutes while the chat waits.
fn customer_queue_flow_content() -> String {
    serde_json::json!({
        "Version": "2019-10-30",
        "StartAction": "welcome",
        "Metadata": {"name": DEFAULT_CUSTOMER_QUEUE_FLOW_NAME, "type": "customerQueue"},
        "Actions": [
            {
                "Identifier": "welcome",
                "Type": "MessageParticipant",
                "Parameters": {"Text": "You are in the queue. The next available agent will answer you here."},
                "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]}
            },
            {
                "Identifier": "wait",
                "Type": "Wait",
                "Parameters": {"TimeLimitSeconds": "300"},
                "Transitions": {
                    "Conditions": [{"NextAction": "reminder", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
                    "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]
                }
            },
            {
                "Identifier": "reminder",
                "Type": "MessageParticipant",
                "Parameters": {"Text": "Thanks for waiting. An agent will be with you as soon as possible."},
                "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]}
            },
            {"Identifier": "end", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string()
}

/// The default disconnect flow (for the `CustomerRemaining` hook): tell the customer the agent
/// left; a message within 15 minutes queues the chat again, silence ends it.
fn disconnect_flow_content() -> String {
    serde_json::json!({
        "Version": "2019-10-30",
        "StartAction": "agent-left",
        "Metadata": {"name": DEFAULT_DISCONNECT_FLOW_NAME, "type": "contactFlow"},
        "Actions": [
            {
                "Identifier": "agent-left",
                "Type": "MessageParticipant",
                "Parameters": {"Text": "The agent has left the chat. Send a message if you still need help."},
                "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "goodbye", "ErrorType": "NoMatchingError"}]}
            },
            {
                "Identifier": "wait",
                "Type": "Wait",
                "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
                "Transitions": {
                    "Conditions": [
                        {"NextAction": "requeue", "Condition": {"Operator": "Equals", "Operands": ["CustomerReturned"]}},
                        {"NextAction": "goodbye", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}
                    ],
                    "Errors": [{"NextAction": "goodbye", "ErrorType": "NoMatchingError"}]
                }
            },
            {
                "Identifier": "requeue",
                "Type": "TransferContactToQueue",
                "Parameters": {},
                "Transitions": {"Errors": [
                    {"NextAction": "goodbye", "ErrorType": "QueueAtCapacity"},
                    {"NextAction": "goodbye", "ErrorType": "NoMatchingError"}
                ]}
            },
            {
                "Identifier": "goodbye",
                "Type": "MessageParticipant",
                "Parameters": {"Text": "Thanks for chatting with us. Goodbye."},
                "Transitions": {"NextAction": "disconnect", "Errors": [{"NextAction": "disconnect", "ErrorType": "NoMatchingError"}]}
            },
            {"Identifier": "disconnect", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string()
}

/// The default inbound chat flow: greet, queue on `BasicQueue`, disconnect on error.
fn default_flow_content(queue_id: &str) -> String {
    serde_json::json!({
        "Version": "2019-10-30",
        "StartAction": "greet",
        "Metadata": {"name": DEFAULT_FLOW_NAME, "type": "contactFlow"},
        "Actions": [
            {
                "Identifier": "greet",
                "Type": "MessageParticipant",
                "Parameters": {"Text": "Thanks for contacting us. An agent will be with you shortly."},
                "Transitions": {"NextAction": "set-queue", "Errors": [{"NextAction": "set-queue", "ErrorType": "NoMatchingError"}]}
            },
            {
                "Identifier": "set-queue",
                "Type": "UpdateContactTargetQueue",
                "Parameters": {"QueueId": queue_id},
                "Transitions": {"NextAction": "transfer", "Errors": [{"NextAction": "disconnect", "ErrorType": "NoMatchingError"}]}
            },
            {
                "Identifier": "transfer",
                "Type": "TransferContactToQueue",
                "Parameters": {},
                "Transitions": {"Errors": [
                    {"NextAction": "disconnect", "ErrorType": "QueueAtCapacity"},
                    {"NextAction": "disconnect", "ErrorType": "NoMatchingError"}
                ]}
            },
            {"Identifier": "disconnect", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        ]
    })
    .to_string()
}

/// Creates the default instance, queue and chat flow unless an instance exists already, and
/// adds any built-in flow the default instance is missing (installations older than it).
pub async fn ensure_defaults(store: &dyn Store, clock: &dyn Clock) -> Result<(), StoreError> {
    let now = clock.now_ms();
    let instance = match store
        .list_instances()
        .await?
        .into_iter()
        .find(|i| i.alias == DEFAULT_INSTANCE_ALIAS)
    {
        Some(instance) => instance,
        None => match create_default_instance(store, now).await? {
            Some(instance) => instance,
            None => return Ok(()),
        },
    };
    let built_in = [
        (
            DEFAULT_CUSTOMER_QUEUE_FLOW_NAME,
            "CUSTOMER_QUEUE",
            "Runs while a chat waits in a queue: a welcome, then a reminder every five minutes.",
            customer_queue_flow_content(),
        ),
        (
            DEFAULT_DISCONNECT_FLOW_NAME,
            "CONTACT_FLOW",
            "For the CustomerRemaining hook: the customer may ask again within 15 minutes, else the chat ends.",
            disconnect_flow_content(),
        ),
    ];
    let existing = store.list_flows(&instance.id).await?;
    for (name, flow_type, description, content) in built_in {
        if existing.iter().any(|flow| flow.name == name) {
            continue;
        }
        let flow = Flow {
            id: uuid::Uuid::new_v4().to_string(),
            instance_id: instance.id.clone(),
            name: name.into(),
            flow_type: flow_type.into(),
            state: "ACTIVE".into(),
            status: "PUBLISHED".into(),
            description: description.into(),
            content,
            modified_ms: now,
        };
        // Another node of the cluster may add it at the same moment; names are unique.
        if let Err(error) = store.insert_flow(&flow).await
            && !store
                .list_flows(&instance.id)
                .await?
                .iter()
                .any(|f| f.name == name)
        {
            return Err(error);
        }
    }
    ensure_organisation(store, &instance.id, now).await
}

/// The default instance with its queue and chat flow; `None` when another node created an
/// instance at the same moment (it creates the rest).
async fn create_default_instance(
    store: &dyn Store,
    now: i64,
) -> Result<Option<Instance>, StoreError> {
    let instance = Instance {
        id: uuid::Uuid::new_v4().to_string(),
        alias: DEFAULT_INSTANCE_ALIAS.into(),
        created_ms: now,
    };
    if let Err(error) = store.insert_instance(&instance).await {
        if !store.list_instances().await?.is_empty() {
            return Ok(None);
        }
        return Err(error);
    }
    let hours_id = ensure_basic_hours(store, &instance.id, now).await?;
    let queue_id = uuid::Uuid::new_v4().to_string();
    store
        .create_queue(&Queue {
            id: queue_id.clone(),
            instance_id: instance.id.clone(),
            name: DEFAULT_QUEUE_NAME.into(),
            description: Some("The default queue".into()),
            queue_type: "STANDARD".into(),
            hours_of_operation_id: Some(hours_id),
            max_contacts: None,
            status: "ENABLED".into(),
            outbound_caller_config: None,
            tags: Tags::new(),
            modified_ms: now,
        })
        .await?;
    store
        .insert_flow(&Flow {
            id: uuid::Uuid::new_v4().to_string(),
            instance_id: instance.id.clone(),
            name: DEFAULT_FLOW_NAME.into(),
            flow_type: "CONTACT_FLOW".into(),
            state: "ACTIVE".into(),
            status: "PUBLISHED".into(),
            description: "Greets the customer and queues the chat on BasicQueue.".into(),
            content: default_flow_content(&queue_id),
            modified_ms: now,
        })
        .await?;
    tracing::info!(instance_id = %instance.id, "created the default instance, queue and chat flow");
    Ok(Some(instance))
}

/// Basic Hours: every day, all day (the same start and end time), in UTC.
fn basic_hours(instance_id: &str, now: i64) -> HoursOfOperation {
    let midnight = || TimeSlice {
        hours: 0,
        minutes: 0,
    };
    let days = [
        "SUNDAY",
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
    ];
    HoursOfOperation {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance_id.into(),
        name: BASIC_HOURS_NAME.into(),
        description: Some("Open every day, all day.".into()),
        time_zone: "UTC".into(),
        config: days
            .into_iter()
            .map(|day| DayHours {
                day: day.into(),
                start_time: midnight(),
                end_time: midnight(),
            })
            .collect(),
        tags: Tags::new(),
        modified_ms: now,
    }
}

/// The id of the instance's Basic Hours, created unless it exists (another node of the cluster
/// may create it at the same moment; names are unique).
async fn ensure_basic_hours(
    store: &dyn Store,
    instance_id: &str,
    now: i64,
) -> Result<String, StoreError> {
    let hours = basic_hours(instance_id, now);
    if store.create_hours_of_operation(&hours).await? {
        return Ok(hours.id);
    }
    store
        .list_hours_of_operations(instance_id)
        .await?
        .into_iter()
        .find(|existing| existing.name == BASIC_HOURS_NAME)
        .map(|existing| existing.id)
        .ok_or_else(|| StoreError(format!("{BASIC_HOURS_NAME} exists but cannot be read")))
}

/// What an agent workspace needs, for installations of any age: Basic Hours (which queues
/// without hours get), the Admin and Agent security profiles, the Available and Offline agent
/// statuses, and the Basic Routing Profile (chats two at a time from BasicQueue). Each is
/// created once, even when several cluster nodes start at the same moment: names are unique
/// and the creations that lose are no-ops.
async fn ensure_organisation(
    store: &dyn Store,
    instance_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let hours_id = ensure_basic_hours(store, instance_id, now).await?;
    store
        .set_missing_queue_hours(instance_id, &hours_id)
        .await?;
    for (name, description) in SECURITY_PROFILES {
        store
            .create_security_profile(&SecurityProfile {
                id: uuid::Uuid::new_v4().to_string(),
                instance_id: instance_id.into(),
                name: name.into(),
                description: Some(description.into()),
                modified_ms: now,
            })
            .await?;
    }
    for (name, status_type, display_order, description) in SYSTEM_AGENT_STATUSES {
        store
            .create_agent_status(&AgentStatus {
                id: uuid::Uuid::new_v4().to_string(),
                instance_id: instance_id.into(),
                name: name.into(),
                description: Some(description.into()),
                status_type: status_type.into(),
                state: "ENABLED".into(),
                display_order: Some(display_order),
                tags: Tags::new(),
                modified_ms: now,
            })
            .await?;
    }
    let profiles = store.list_routing_profiles(instance_id).await?;
    if profiles
        .iter()
        .any(|profile| profile.name == BASIC_ROUTING_PROFILE_NAME)
    {
        return Ok(());
    }
    let Some((queue_id, _)) = store
        .list_queues(instance_id)
        .await?
        .into_iter()
        .find(|(_, name)| name == DEFAULT_QUEUE_NAME)
    else {
        tracing::warn!(
            instance_id,
            "the instance has no {DEFAULT_QUEUE_NAME}; {BASIC_ROUTING_PROFILE_NAME} is not created"
        );
        return Ok(());
    };
    let profile = RoutingProfile {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance_id.into(),
        name: BASIC_ROUTING_PROFILE_NAME.into(),
        description: format!("Takes chats from {DEFAULT_QUEUE_NAME}, two at a time."),
        default_outbound_queue_id: queue_id.clone(),
        media_concurrencies: vec![MediaConcurrency {
            channel: "CHAT".into(),
            concurrency: 2,
            cross_channel_behavior: None,
        }],
        agent_availability_timer: None,
        is_default: true,
        tags: Tags::new(),
        modified_ms: now,
    };
    let served = [RoutingProfileQueue {
        queue_id,
        channel: "CHAT".into(),
        priority: 1,
        delay: 0,
    }];
    store.create_routing_profile(&profile, &served).await?;
    Ok(())
}

/// The user a fresh installation signs in to the agent workspace with, as a new Connect
/// instance has its administrator.
pub const FIRST_ADMIN_USERNAME: &str = "admin";

/// Creates the default instance's administrator (security profiles Admin and Agent, the
/// default routing profile) with `password`, if the instance has no user yet. `true` when it
/// was created now.
pub async fn create_first_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    password: &str,
) -> Result<bool, StoreError> {
    let Some(instance) = store
        .list_instances()
        .await?
        .into_iter()
        .find(|i| i.alias == DEFAULT_INSTANCE_ALIAS)
    else {
        return Ok(false);
    };
    if !store.list_users(&instance.id).await?.is_empty() {
        return Ok(false);
    }
    let Some(profile) = store
        .list_routing_profiles(&instance.id)
        .await?
        .into_iter()
        .find(|profile| profile.is_default)
    else {
        return Ok(false);
    };
    let security_profile_ids = store
        .list_security_profiles(&instance.id)
        .await?
        .into_iter()
        .filter(|profile| profile.name == "Admin" || profile.name == "Agent")
        .map(|profile| profile.id)
        .collect();
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || liaison_core::password::hash(&password))
        .await
        .map_err(|e| StoreError(format!("the password hashing did not finish: {e}")))?
        .map_err(|e| StoreError(e.to_string()))?;
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        username: FIRST_ADMIN_USERNAME.into(),
        identity_info: IdentityInfo {
            first_name: Some("Liaison".into()),
            last_name: Some("Admin".into()),
            ..IdentityInfo::default()
        },
        phone_config: None,
        security_profile_ids,
        routing_profile_id: profile.id,
        tags: Tags::new(),
        modified_ms: clock.now_ms(),
        status: None,
    };
    store.create_user(&user, Some(&hash)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_flows_are_free_of_problems() {
        for content in [
            default_flow_content("queue-id"),
            customer_queue_flow_content(),
            disconnect_flow_content(),
        ] {
            let validation = liaison_core::flow::validate(&content);
            assert!(validation.is_clean(), "{:?}", validation.problems);
        }
    }
}
