//! What exists after the first start: a default instance with a queue and a chat flow, so a
//! fresh Liaison answers `ListInstances` and can start a chat straight away.

use liaison_core::{Clock, Flow, Instance};
use liaison_store::{Store, StoreError};

pub const DEFAULT_INSTANCE_ALIAS: &str = "liaison";
pub const DEFAULT_QUEUE_NAME: &str = "BasicQueue";
pub const DEFAULT_FLOW_NAME: &str = "Default chat flow";

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

/// Creates the default instance, queue and flow unless an instance exists already.
pub async fn ensure_defaults(store: &dyn Store, clock: &dyn Clock) -> Result<(), StoreError> {
    if !store.list_instances().await?.is_empty() {
        return Ok(());
    }
    let now = clock.now_ms();
    let instance = Instance {
        id: uuid::Uuid::new_v4().to_string(),
        alias: DEFAULT_INSTANCE_ALIAS.into(),
        created_ms: now,
    };
    if let Err(error) = store.insert_instance(&instance).await {
        // Another node of the cluster may have created the defaults at the same moment.
        if !store.list_instances().await?.is_empty() {
            return Ok(());
        }
        return Err(error);
    }
    let queue_id = uuid::Uuid::new_v4().to_string();
    store
        .insert_queue(
            &instance.id,
            &queue_id,
            DEFAULT_QUEUE_NAME,
            "The default queue",
            now,
        )
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
    Ok(())
}
