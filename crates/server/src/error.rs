//! The one place AWS errors become HTTP responses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use liaison_store::StoreError;
use liaison_wire::{Api, ConnectError, ParticipantError};
use serde_json::{Map, Value};

/// An error of either API surface, ready to render.
#[derive(Debug)]
pub enum ApiError {
    Connect(ConnectError),
    Participant(ParticipantError),
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        ApiError::Connect(e)
    }
}

impl From<ParticipantError> for ApiError {
    fn from(e: ParticipantError) -> Self {
        ApiError::Participant(e)
    }
}

impl ApiError {
    /// The surface's validation error (what a malformed or out-of-model request gets).
    pub fn invalid(api: Api, message: impl Into<String>, parameter: bool) -> Self {
        let message = message.into();
        match (api, parameter) {
            (Api::Connect, true) => ConnectError::InvalidParameter(message).into(),
            (Api::Connect, false) => ConnectError::InvalidRequest(message).into(),
            (Api::Participant, _) => ParticipantError::Validation(message).into(),
        }
    }

    /// The surface's internal error, for storage failures; the details go to the log only.
    pub fn internal(api: Api, error: &StoreError) -> Self {
        tracing::error!(%error, "request failed on storage");
        let message = "Liaison could not complete the request; try again.".to_string();
        match api {
            Api::Connect => ConnectError::InternalService(message).into(),
            Api::Participant => ParticipantError::InternalServer(message).into(),
        }
    }

    /// The AWS error code clients see.
    pub fn code(&self) -> &'static str {
        self.parts().0
    }

    /// What the error says, for a command line that prints it.
    pub fn message(&self) -> &str {
        self.parts().2
    }

    fn parts(&self) -> (&'static str, u16, &str, Vec<(&'static str, Value)>) {
        match self {
            ApiError::Connect(e) => (e.code(), e.status(), e.message(), e.extra_members()),
            ApiError::Participant(e) => (e.code(), e.status(), e.message(), e.extra_members()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status, message, extra) = self.parts();
        if status >= 500 {
            tracing::error!(code, message, "answering with a server error");
        } else {
            tracing::debug!(code, message, "answering with a client error");
        }
        let mut body = Map::new();
        body.insert("__type".into(), Value::String(code.into()));
        body.insert("Message".into(), Value::String(message.into()));
        body.insert("message".into(), Value::String(message.into()));
        for (key, value) in extra {
            body.insert(key.into(), value);
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(Value::Object(body))).into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(code));
        response
    }
}

/// Maps a storage failure to the internal error of the API the request came through.
pub trait OrInternal<T> {
    fn or_internal(self, api: Api) -> Result<T, ApiError>;
}

impl<T> OrInternal<T> for Result<T, StoreError> {
    fn or_internal(self, api: Api) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::internal(api, &e))
    }
}
