//! The AWS errors each API surface can answer with.
//!
//! Each variant is one modeled error shape: its code (the shape name clients match on) and its
//! HTTP status come from the model. The server renders them in exactly one place.

/// What the Connect (SigV4) API answers with on failure.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectError {
    InvalidRequest(String),
    InvalidParameter(String),
    ResourceNotFound(String),
    /// 403: the caller may not do this (a widget start from an origin it does not allow).
    AccessDenied(String),
    /// 410: the contact exists no more (or never did) for the operation.
    ContactNotFound(String),
    DuplicateResource(String),
    /// 409: the contact's state does not allow the operation now.
    Conflict(String),
    /// 402: a per-contact limit (such as one custom participant) is reached.
    ServiceQuotaExceeded(String),
    LimitExceeded(String),
    Throttling(String),
    InternalService(String),
    /// No operation matches the request's method and path.
    UnknownOperation(String),
    /// The flow content has problems; each names the block and the fault.
    InvalidContactFlow {
        problems: Vec<String>,
    },
    /// The same for a flow module (its shape spells the member `Problems`).
    InvalidContactFlowModule {
        problems: Vec<String>,
    },
    /// A SigV4 failure, with the code and status AWS's front door uses for it.
    Authentication {
        code: &'static str,
        status: u16,
        message: String,
    },
}

impl ConnectError {
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::InvalidRequest(_) => "InvalidRequestException",
            ConnectError::InvalidParameter(_) => "InvalidParameterException",
            ConnectError::ResourceNotFound(_) => "ResourceNotFoundException",
            ConnectError::AccessDenied(_) => "AccessDeniedException",
            ConnectError::ContactNotFound(_) => "ContactNotFoundException",
            ConnectError::DuplicateResource(_) => "DuplicateResourceException",
            ConnectError::Conflict(_) => "ConflictException",
            ConnectError::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            ConnectError::LimitExceeded(_) => "LimitExceededException",
            ConnectError::Throttling(_) => "ThrottlingException",
            ConnectError::InternalService(_) => "InternalServiceException",
            ConnectError::UnknownOperation(_) => "UnknownOperationException",
            ConnectError::InvalidContactFlow { .. } => "InvalidContactFlowException",
            ConnectError::InvalidContactFlowModule { .. } => "InvalidContactFlowModuleException",
            ConnectError::Authentication { code, .. } => code,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ConnectError::InvalidRequest(_)
            | ConnectError::InvalidParameter(_)
            | ConnectError::InvalidContactFlow { .. }
            | ConnectError::InvalidContactFlowModule { .. } => 400,
            ConnectError::ResourceNotFound(_) | ConnectError::UnknownOperation(_) => 404,
            ConnectError::AccessDenied(_) => 403,
            ConnectError::ContactNotFound(_) => 410,
            ConnectError::DuplicateResource(_) | ConnectError::Conflict(_) => 409,
            ConnectError::ServiceQuotaExceeded(_) => 402,
            ConnectError::LimitExceeded(_) | ConnectError::Throttling(_) => 429,
            ConnectError::InternalService(_) => 500,
            ConnectError::Authentication { status, .. } => *status,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ConnectError::InvalidRequest(m)
            | ConnectError::InvalidParameter(m)
            | ConnectError::ResourceNotFound(m)
            | ConnectError::AccessDenied(m)
            | ConnectError::ContactNotFound(m)
            | ConnectError::DuplicateResource(m)
            | ConnectError::Conflict(m)
            | ConnectError::ServiceQuotaExceeded(m)
            | ConnectError::LimitExceeded(m)
            | ConnectError::Throttling(m)
            | ConnectError::InternalService(m)
            | ConnectError::UnknownOperation(m) => m,
            ConnectError::Authentication { message, .. } => message,
            ConnectError::InvalidContactFlow { .. } => {
                "The flow content is not valid; see problems."
            }
            ConnectError::InvalidContactFlowModule { .. } => {
                "The flow module content is not valid; see Problems."
            }
        }
    }

    /// Modeled members beyond the message that the body must carry.
    pub fn extra_members(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            ConnectError::InvalidContactFlow { problems } => vec![("problems", listed(problems))],
            ConnectError::InvalidContactFlowModule { problems } => {
                vec![("Problems", listed(problems))]
            }
            _ => Vec::new(),
        }
    }
}

/// Problems as the model's `Problems` list of `{message}`.
fn listed(problems: &[String]) -> serde_json::Value {
    problems
        .iter()
        .map(|message| serde_json::json!({ "message": message }))
        .collect()
}

/// What the Participant Service API answers with on failure.
#[derive(Debug, Clone, PartialEq)]
pub enum ParticipantError {
    Validation(String),
    AccessDenied(String),
    ResourceNotFound {
        message: String,
        resource_id: String,
        resource_type: &'static str,
    },
    Conflict(String),
    ServiceQuotaExceeded(String),
    Throttling(String),
    InternalServer(String),
}

impl ParticipantError {
    pub fn code(&self) -> &'static str {
        match self {
            ParticipantError::Validation(_) => "ValidationException",
            ParticipantError::AccessDenied(_) => "AccessDeniedException",
            ParticipantError::ResourceNotFound { .. } => "ResourceNotFoundException",
            ParticipantError::Conflict(_) => "ConflictException",
            ParticipantError::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            ParticipantError::Throttling(_) => "ThrottlingException",
            ParticipantError::InternalServer(_) => "InternalServerException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ParticipantError::Validation(_) => 400,
            ParticipantError::AccessDenied(_) => 403,
            ParticipantError::ResourceNotFound { .. } => 404,
            ParticipantError::Conflict(_) => 409,
            ParticipantError::ServiceQuotaExceeded(_) => 402,
            ParticipantError::Throttling(_) => 429,
            ParticipantError::InternalServer(_) => 500,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ParticipantError::Validation(m)
            | ParticipantError::AccessDenied(m)
            | ParticipantError::Conflict(m)
            | ParticipantError::ServiceQuotaExceeded(m)
            | ParticipantError::Throttling(m)
            | ParticipantError::InternalServer(m) => m,
            ParticipantError::ResourceNotFound { message, .. } => message,
        }
    }

    /// Modeled members beyond `Message` that the body must carry.
    pub fn extra_members(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            ParticipantError::ResourceNotFound {
                resource_id,
                resource_type,
                ..
            } => vec![
                ("ResourceId", resource_id.clone().into()),
                ("ResourceType", resource_type.to_string().into()),
            ],
            _ => Vec::new(),
        }
    }
}
