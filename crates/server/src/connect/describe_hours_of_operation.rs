use super::organisation::{hours_arn, require_hours};
use super::{epoch_seconds, find_instance};
use crate::error::ApiError;
use crate::state::AppState;
use liaison_core::organisation::{DayHours, Tags};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    instance_id: String,
    hours_of_operation_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    hours_of_operation: HoursView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HoursView {
    hours_of_operation_id: String,
    hours_of_operation_arn: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    time_zone: String,
    config: Vec<DayHours>,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    last_modified_time: f64,
    last_modified_region: String,
}

/// `GET /hours-of-operations/{InstanceId}/{HoursOfOperationId}` — a schedule with its days and
/// time zone.
pub async fn handle(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let instance = find_instance(state, &request.instance_id).await?;
    let hours = require_hours(state, &instance, &request.hours_of_operation_id).await?;
    Ok(Response {
        hours_of_operation: HoursView {
            hours_of_operation_arn: hours_arn(state, &hours),
            last_modified_time: epoch_seconds(hours.modified_ms),
            last_modified_region: state.config.region.clone(),
            hours_of_operation_id: hours.id,
            name: hours.name,
            description: hours.description,
            time_zone: hours.time_zone,
            config: hours.config,
            tags: hours.tags,
        },
    })
}
