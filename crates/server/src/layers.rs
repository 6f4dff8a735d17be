//! The middleware every response passes through, in one place: request ids, CORS for browser
//! clients (any origin, but a widget's endpoints only for its allowed origins), redaction of credentials in logs, and panics rendered as AWS errors.

use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::middleware::{self, Next};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

const REQUEST_ID: &str = "x-amzn-requestid";
const ERROR_TYPE: &str = "x-amzn-errortype";

pub fn apply(router: Router, state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin, parts| {
            let state = state.clone();
            let path = parts.uri.path().to_string();
            async move { crate::widgets::origin_may_read(&state, &origin, &path).await }
        }))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static(REQUEST_ID),
            HeaderName::from_static(ERROR_TYPE),
        ])
        .max_age(Duration::from_secs(600));
    // The request-id layer sits outside CORS so preflight answers carry an id too.
    router
        .layer(CatchPanicLayer::custom(render_panic))
        .layer(cors)
        .layer(middleware::from_fn(add_request_id))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            HeaderName::from_static("x-amz-bearer"),
        ]))
}

/// Every response carries `x-amzn-RequestId`, as AWS's do; SDKs surface it to callers.
async fn add_request_id(request: Request<Body>, next: Next) -> Response<Body> {
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

/// A panic is a bug; the client still gets a well-formed AWS error rather than a dropped connection.
fn render_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a request handler panicked");
    let body = r#"{"__type":"InternalServiceException","Message":"Liaison hit an internal error.","message":"Liaison hit an internal error."}"#;
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amzn-ErrorType",
        HeaderValue::from_static("InternalServiceException"),
    );
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-RequestId", value);
    }
    response
}
