//! InvokeLambdaFunction against HTTP endpoints: each function ARN (or function name) the
//! configuration maps to a URL receives Connect's Lambda event as a JSON POST and answers with
//! what the Lambda would return.

use crate::state::AppState;
use liaison_core::flow::{LambdaCall, Outcome};
use liaison_core::{Contact, format_iso_millis};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Largest response a function may return (Connect's limit).
const MAX_RESPONSE_BYTES: usize = 32 * 1024;
/// Attempts for throttled or failing calls, all within the time limit.
const ATTEMPTS: usize = 3;

fn failed() -> Outcome {
    Outcome::Failed("NoMatchingError".into())
}

/// The function's name from its ARN (`arn:aws:lambda:…:function:name[:alias]`).
fn function_name(arn: &str) -> &str {
    match arn.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => arn,
    }
}

impl AppState {
    /// Calls the function of `call` for `contact`; the outcome settles the flow's action.
    pub async fn invoke_function(
        &self,
        contact: &Contact,
        call: &LambdaCall,
        initiation_method: &str,
        queue: Option<(String, String)>,
    ) -> Outcome {
        let contact_id = contact.id.as_str();
        let associated = match self.store.list_functions(&contact.instance_id).await {
            Ok(functions) => functions.contains(&call.function),
            Err(error) => {
                tracing::error!(%error, contact_id, "could not read associated functions");
                return failed();
            }
        };
        if !associated {
            tracing::warn!(
                contact_id,
                function = call.function,
                "InvokeLambdaFunction: the function is not associated with the instance (AssociateLambdaFunction); taking the error branch"
            );
            return failed();
        }
        let functions = &self.config.functions;
        let Some(url) = functions
            .get(&call.function)
            .or_else(|| functions.get(function_name(&call.function)))
        else {
            tracing::warn!(
                contact_id,
                function = call.function,
                "InvokeLambdaFunction: no endpoint is configured for the function ([functions] in the configuration); taking the error branch"
            );
            return failed();
        };
        let event = self.lambda_event(contact, call, initiation_method, queue);
        let deadline = Instant::now() + Duration::from_millis(call.timeout_ms.max(1) as u64);
        for attempt in 1..=ATTEMPTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let response = self.http.post(url).timeout(left).json(&event).send().await;
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    tracing::warn!(%error, contact_id, function = call.function, attempt, "function call failed");
                    if error.is_timeout() {
                        break;
                    }
                    continue;
                }
            };
            let status = response.status();
            if status.as_u16() == 429 || status.is_server_error() {
                tracing::warn!(contact_id, function = call.function, %status, attempt, "function throttled or failed; retrying");
                continue;
            }
            let Ok(body) = response.bytes().await else {
                return failed();
            };
            if !status.is_success() {
                tracing::warn!(contact_id, function = call.function, %status, "function refused the call");
                return failed();
            }
            return read_result(contact_id, call, &body);
        }
        tracing::warn!(
            contact_id,
            function = call.function,
            "function did not answer within its time limit"
        );
        failed()
    }

    /// Connect's Lambda event for a chat contact.
    fn lambda_event(
        &self,
        contact: &Contact,
        call: &LambdaCall,
        initiation_method: &str,
        queue: Option<(String, String)>,
    ) -> Value {
        json!({
            "Name": "ContactFlowEvent",
            "Details": {
                "ContactData": {
                    "Attributes": contact.attributes,
                    "Channel": "CHAT",
                    "ContactId": contact.id,
                    "InitialContactId": contact.initial_contact_id,
                    "PreviousContactId": contact.initial_contact_id,
                    "RelatedContactId": contact.related_contact_id,
                    "CustomerEndpoint": null,
                    "SystemEndpoint": null,
                    "CustomerId": contact.customer_id,
                    "InitiationMethod": initiation_method,
                    "InstanceARN": self.config.instance_arn(&contact.instance_id),
                    "InitiationTimestamp": format_iso_millis(contact.initiated_ms),
                    "Queue": queue.map(|(name, arn)| json!({"Name": name, "ARN": arn})),
                    "MediaStreams": null,
                    "Name": contact.data.name,
                    "Description": contact.data.description,
                    "LanguageCode": contact.data.language_code,
                    "References": contact.data.references,
                    "SegmentAttributes": contact.segment_attributes.clone().unwrap_or_else(|| json!({})),
                    "Tags": {},
                },
                "Parameters": call.parameters,
            },
        })
    }
}

/// A function's answer as `$.External`, checked as its `ResponseValidation` asks.
fn read_result(contact_id: &str, call: &LambdaCall, body: &[u8]) -> Outcome {
    if body.len() > MAX_RESPONSE_BYTES {
        tracing::warn!(
            contact_id,
            function = call.function,
            bytes = body.len(),
            "function response exceeds 32 KB"
        );
        return failed();
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        tracing::warn!(
            contact_id,
            function = call.function,
            "function response is not JSON"
        );
        return failed();
    };
    let Value::Object(members) = &value else {
        tracing::warn!(
            contact_id,
            function = call.function,
            "function response is not a JSON object"
        );
        return failed();
    };
    if !call.json_response && !members.values().all(Value::is_string) {
        tracing::warn!(
            contact_id,
            function = call.function,
            "function response is not a flat map of strings (ResponseType STRING_MAP)"
        );
        return failed();
    }
    Outcome::Lambda(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(json_response: bool) -> LambdaCall {
        LambdaCall {
            function: "arn:aws:lambda:us-east-1:1:function:f".into(),
            parameters: Default::default(),
            timeout_ms: 1000,
            json_response,
        }
    }

    #[test]
    fn responses_are_checked_as_their_validation_asks() {
        let flat = br#"{"status": "ok"}"#;
        let nested = br#"{"order": {"id": 1}}"#;
        assert!(matches!(
            read_result("c", &call(false), flat),
            Outcome::Lambda(_)
        ));
        assert_eq!(read_result("c", &call(false), nested), failed());
        assert!(matches!(
            read_result("c", &call(true), nested),
            Outcome::Lambda(_)
        ));
        assert_eq!(read_result("c", &call(true), b"[1]"), failed());
        assert_eq!(read_result("c", &call(true), b"not json"), failed());
        let huge = format!(r#"{{"x": "{}"}}"#, "y".repeat(MAX_RESPONSE_BYTES));
        assert_eq!(read_result("c", &call(true), huge.as_bytes()), failed());
    }

    #[test]
    fn function_names_come_from_arns() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:lookup"),
            "lookup"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:lookup:live"),
            "lookup"
        );
        assert_eq!(function_name("lookup"), "lookup");
    }
}
