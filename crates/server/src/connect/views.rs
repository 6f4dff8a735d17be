//! What the view operations share: the AWS-managed views, finding a view by id or ARN, and the
//! `View` shape every answer carries.
//!
//! Customer-managed views are rows of the store. AWS-managed views are not: they are the
//! [`AWS_MANAGED_VIEWS`] table below, the same for every instance, read-only and at version 1.

use super::{epoch_seconds, id_from_arn};
use crate::error::{ApiError, OrInternal};
use crate::state::AppState;
use liaison_core::{Instance, View, sha256_hex};
use liaison_wire::{Api, ConnectError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// Every view is at this version: Liaison keeps no view versions (CreateViewVersion is not
/// implemented), so `:1` is the only version qualifier a view answers to.
pub const VIEW_VERSION: i64 = 1;

/// The input schema of a view whose template Liaison does not infer one from.
const UNINFERRED_INPUT_SCHEMA: &str = "{}";

/// One of the views AWS provides in every instance (flow-language.md §8.3).
pub struct AwsManagedView {
    /// The ARN's name (`arn:aws:connect:{region}:aws:view/{name}`); also the view's id and name.
    pub name: &'static str,
    pub description: &'static str,
    /// The `ViewData` inputs the view reads.
    pub inputs: &'static [&'static str],
    /// The inputs it cannot do without.
    pub required_inputs: &'static [&'static str],
    /// The actions it answers with (the Show-view block's branches).
    pub actions: &'static [&'static str],
}

/// The AWS-managed views. Their `Template` is a small JSON description of their inputs
/// ([`AwsManagedView::template`]); Liaison's agent workspace renders them from these templates.
pub const AWS_MANAGED_VIEWS: [AwsManagedView; 6] = [
    AwsManagedView {
        name: "detail",
        description: "Shows details, sections of attributes and actions to choose from.",
        inputs: &[
            "Heading",
            "Description",
            "Sections",
            "AttributeBar",
            "Back",
            "Actions",
            "Style",
        ],
        required_inputs: &["Sections"],
        actions: &["ActionSelected", "Back"],
    },
    AwsManagedView {
        name: "list",
        description: "Shows a list of items to pick one from.",
        inputs: &["Heading", "SubHeading", "Items", "AttributeBar", "Back"],
        required_inputs: &["Items"],
        actions: &["ActionSelected", "Back"],
    },
    AwsManagedView {
        name: "form",
        description: "Collects input in form sections, optionally as a wizard of steps.",
        inputs: &[
            "Heading",
            "SubHeading",
            "Sections",
            "Wizard",
            "Next",
            "Previous",
            "Cancel",
            "Back",
            "Edit",
            "ErrorText",
            "AttributeBar",
        ],
        required_inputs: &[],
        actions: &["Next", "Back", "Step", "Previous", "Cancel"],
    },
    AwsManagedView {
        name: "confirmation",
        description: "Confirms that something was done.",
        inputs: &["Heading", "SubHeading", "Graphic", "Next", "AttributeBar"],
        required_inputs: &["Next"],
        actions: &["Next"],
    },
    AwsManagedView {
        name: "cards",
        description: "Shows cards to choose from, each with a summary and details.",
        inputs: &[
            "Heading",
            "Cards",
            "NoMatchFound",
            "Back",
            "AttributeBar",
            "CardsPerRow",
        ],
        required_inputs: &["Cards"],
        actions: &["ActionSelected", "Back", "NoMatchFound"],
    },
    AwsManagedView {
        name: "after-contact-work",
        description: "Wraps up a contact: summary, category, driver, satisfaction and notes.",
        inputs: &[
            "CustomerName",
            "PhoneNumber",
            "ContactSummary_DefaultValue",
            "Category_DefaultValue",
            "Driver_DefaultValue",
            "Satisfaction_DefaultValue",
            "FollowUp_DefaultValue",
            "Resolved_DefaultValue",
        ],
        required_inputs: &[],
        actions: &["Submit", "Cancel"],
    },
];

impl AwsManagedView {
    pub fn arn(&self, state: &AppState) -> String {
        format!(
            "arn:aws:connect:{}:aws:view/{}",
            state.config.region, self.name
        )
    }

    /// The JSON the workspace renders the view from: the view and its inputs.
    fn template(&self) -> String {
        json!({
            "View": self.name,
            "Inputs": self.inputs,
            "RequiredInputs": self.required_inputs,
        })
        .to_string()
    }

    /// A JSON schema of the inputs: an object with these properties, of any type.
    fn input_schema(&self) -> String {
        let properties: serde_json::Map<String, serde_json::Value> = self
            .inputs
            .iter()
            .map(|input| (input.to_string(), json!({})))
            .collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": self.required_inputs,
        })
        .to_string()
    }
}

pub fn view_arn(state: &AppState, view: &View) -> String {
    format!(
        "{}/view/{}",
        state.config.instance_arn(&view.instance_id),
        view.id
    )
}

/// A view a `ViewId` names.
pub enum FoundView {
    CustomerManaged(View),
    AwsManaged(&'static AwsManagedView),
}

/// The view a `ViewId` names: a customer-managed view's id or ARN, or an AWS-managed view's name
/// or ARN; either with or without a `:$SAVED`, `:$LATEST` or `:1` qualifier.
pub async fn find_view(
    state: &AppState,
    instance: &Instance,
    view_ref: &str,
) -> Result<FoundView, ApiError> {
    let not_found = || {
        ApiError::from(ConnectError::ResourceNotFound(format!(
            "View {view_ref} not found."
        )))
    };
    let qualified = id_from_arn(view_ref);
    let (view_id, qualifier) = match qualified.split_once(':') {
        Some((id, qualifier)) => (id, Some(qualifier)),
        None => (qualified, None),
    };
    let version_exists = match qualifier {
        None | Some("$SAVED") | Some("$LATEST") => true,
        Some(version) => version.parse::<i64>().is_ok_and(|v| v == VIEW_VERSION),
    };
    if !version_exists {
        return Err(not_found());
    }
    if let Some(aws_managed) = AWS_MANAGED_VIEWS.iter().find(|view| view.name == view_id) {
        return Ok(FoundView::AwsManaged(aws_managed));
    }
    state
        .store
        .get_view(&instance.id, view_id)
        .await
        .or_internal(Api::Connect)?
        .map(FoundView::CustomerManaged)
        .ok_or_else(not_found)
}

/// The customer-managed view a `ViewId` names, for an operation that changes it; an AWS-managed
/// view is refused, as AWS refuses it.
pub async fn find_view_to_change(
    state: &AppState,
    instance: &Instance,
    view_ref: &str,
    operation: &str,
) -> Result<View, ApiError> {
    match find_view(state, instance, view_ref).await? {
        FoundView::CustomerManaged(view) => Ok(view),
        FoundView::AwsManaged(view) => Err(ConnectError::InvalidRequest(format!(
            "{operation} cannot change the view {}: it is an AWS-managed view, which is read-only.",
            view.name
        ))
        .into()),
    }
}

/// Refuses a view name another view of the instance has (`except`: the view being renamed).
pub async fn check_view_name_free(
    state: &AppState,
    instance_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let views = state
        .store
        .list_views(instance_id)
        .await
        .or_internal(Api::Connect)?;
    if views
        .iter()
        .any(|view| view.name == name && Some(view.id.as_str()) != except)
    {
        return Err(duplicate_name(name));
    }
    Ok(())
}

pub fn duplicate_name(name: &str) -> ApiError {
    ConnectError::DuplicateResource(format!(
        "A view named '{name}' already exists in this instance."
    ))
    .into()
}

/// `ViewInputContent`: what CreateView and UpdateViewContent are given.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ViewInputContent {
    template: Option<String>,
    actions: Option<Vec<String>>,
}

/// Content to store: a template that is a JSON object, and the actions.
pub struct CheckedContent {
    pub template: String,
    pub actions: Vec<String>,
}

impl ViewInputContent {
    pub fn check(self) -> Result<CheckedContent, ApiError> {
        let template = self.template.ok_or_else(|| {
            ApiError::from(ConnectError::InvalidParameter(
                "The view's Content needs a Template.".into(),
            ))
        })?;
        let parsed: serde_json::Value = serde_json::from_str(&template).map_err(|error| {
            ApiError::from(ConnectError::InvalidParameter(format!(
                "The view's Template is not JSON: {error}."
            )))
        })?;
        if !parsed.is_object() {
            return Err(ConnectError::InvalidParameter(
                "The view's Template must be a JSON object.".into(),
            )
            .into());
        }
        Ok(CheckedContent {
            template,
            actions: self.actions.unwrap_or_default(),
        })
    }
}

/// The `View` shape.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ViewShape {
    id: String,
    arn: String,
    name: String,
    status: String,
    #[serde(rename = "Type")]
    view_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    version: i64,
    content: ViewContent,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_time: Option<f64>,
    view_content_sha256: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ViewContent {
    input_schema: String,
    template: String,
    actions: Vec<String>,
}

impl ViewShape {
    pub fn new(state: &AppState, found: FoundView) -> Self {
        match found {
            FoundView::CustomerManaged(view) => Self::customer_managed(state, view),
            FoundView::AwsManaged(view) => Self::aws_managed(state, view),
        }
    }

    pub fn customer_managed(state: &AppState, view: View) -> Self {
        ViewShape {
            arn: view_arn(state, &view),
            view_content_sha256: sha256_hex(view.template.as_bytes()),
            id: view.id,
            name: view.name,
            status: view.status,
            view_type: "CUSTOMER_MANAGED",
            description: view.description,
            version: VIEW_VERSION,
            content: ViewContent {
                input_schema: UNINFERRED_INPUT_SCHEMA.into(),
                template: view.template,
                actions: view.actions,
            },
            tags: view.tags,
            created_time: Some(epoch_seconds(view.created_ms)),
            last_modified_time: Some(epoch_seconds(view.modified_ms)),
        }
    }

    fn aws_managed(state: &AppState, view: &AwsManagedView) -> Self {
        let template = view.template();
        ViewShape {
            id: view.name.into(),
            arn: view.arn(state),
            name: view.name.into(),
            status: "PUBLISHED".into(),
            view_type: "AWS_MANAGED",
            description: Some(view.description.into()),
            version: VIEW_VERSION,
            view_content_sha256: sha256_hex(template.as_bytes()),
            content: ViewContent {
                input_schema: view.input_schema(),
                template,
                actions: view.actions.iter().map(ToString::to_string).collect(),
            },
            tags: BTreeMap::new(),
            created_time: None,
            last_modified_time: None,
        }
    }
}
