use super::find_instance;
use super::organisation::hours_arn;
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::organisation::{DayHours, HoursOfOperation, Tags};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    name: String,
    description: Option<String>,
    time_zone: String,
    config: Vec<DayHours>,
    parent_hours_of_operation_configs: Option<Vec<serde_json::Value>>,
    tags: Option<Tags>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    hours_of_operation_id: String,
    hours_of_operation_arn: String,
}

/// `PUT /hours-of-operations/{InstanceId}` — adds a weekly schedule for queues: per day, the
/// time the queue opens and closes in the schedule's time zone (the same start and end time is
/// the whole day). Names are unique within the instance.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    if request
        .parent_hours_of_operation_configs
        .is_some_and(|parents| !parents.is_empty())
    {
        return Err(ConnectError::InvalidParameter(
            "ParentHoursOfOperationConfigs is not supported: Liaison's hours of operation stand alone.".into(),
        )
        .into());
    }
    let hours = HoursOfOperation {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id,
        name: request.name,
        description: request.description,
        time_zone: request.time_zone,
        config: request.config,
        tags: request.tags.unwrap_or_default(),
        modified_ms: state.clock.now_ms(),
    };
    let created = state
        .store
        .create_hours_of_operation(&hours)
        .await
        .or_internal(Api::Connect)?;
    if !created {
        return Err(ConnectError::DuplicateResource(format!(
            "Hours of operation named '{}' already exist in this instance.",
            hours.name
        ))
        .into());
    }
    Ok(Response {
        hours_of_operation_arn: hours_arn(state, &hours),
        hours_of_operation_id: hours.id,
    })
}
