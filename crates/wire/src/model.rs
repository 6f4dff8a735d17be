//! The operation table, read from AWS's own API models.
//!
//! The three model files under `model/` are botocore's `service-2.json` for the participant
//! service and the chat and organisation parts of the Connect service, with documentation
//! stripped. Embedding them (rather than retyping paths and constraints) means every operation of
//! both APIs is routed, validated and reported from one source that cannot drift from what the
//! SDKs were generated from.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

const PARTICIPANT_MODEL: &str = include_str!("../model/connectparticipant.json");
const CONNECT_CHAT_MODEL: &str = include_str!("../model/connect-chat.json");
const CONNECT_ORG_MODEL: &str = include_str!("../model/connect-org.json");

/// Which AWS API surface an operation belongs to; each has its own error vocabulary and auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Amazon Connect (`connect`, SigV4-signed admin API).
    Connect,
    /// Amazon Connect Participant Service (`X-Amz-Bearer` tokens).
    Participant,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Connect => "connect",
            Api::Participant => "connectparticipant",
        }
    }
}

/// How a request to an operation proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// AWS Signature V4 with the admin keys.
    SigV4,
    /// `X-Amz-Bearer: <ParticipantToken>`; only `CreateParticipantConnection` takes it.
    ParticipantToken,
    /// `X-Amz-Bearer: <ConnectionToken>`; every other participant operation.
    ConnectionToken,
}

/// One row of the operation table.
#[derive(Debug)]
pub struct Operation {
    pub api: Api,
    pub name: String,
    pub method: String,
    /// The model's `requestUri` with its `{Label}` placeholders, e.g. `/contacts/{InstanceId}/{ContactId}`.
    pub path: String,
    pub auth: AuthScheme,
    /// Input structure name, if the operation takes one.
    pub input: Option<String>,
    /// Names of the error shapes the model lists for this operation.
    pub errors: Vec<String>,
    model: usize,
}

impl Operation {
    /// The shapes this operation's input and errors are defined in.
    pub fn shapes(&self) -> &Shapes {
        &catalog().models[self.model]
    }

    /// Whether the model lets this operation answer with the named error shape.
    pub fn may_return(&self, error: &str) -> bool {
        self.errors.iter().any(|e| e == error)
    }
}

/// The shape dictionary of one model file.
#[derive(Debug)]
pub struct Shapes {
    shapes: Map<String, Value>,
}

impl Shapes {
    pub fn get(&self, name: &str) -> Option<&Map<String, Value>> {
        self.shapes.get(name).and_then(Value::as_object)
    }
}

/// Every operation of both APIs, in model order (participant service first).
#[derive(Debug)]
pub struct Catalog {
    pub operations: Vec<Operation>,
    models: Vec<Shapes>,
    by_name: HashMap<(Api, String), usize>,
}

impl Catalog {
    pub fn find(&self, api: Api, name: &str) -> Option<&Operation> {
        self.by_name
            .get(&(api, name.to_string()))
            .map(|&i| &self.operations[i])
    }
}

/// The table, parsed once from the embedded models.
pub fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
        let mut catalog = Catalog {
            operations: Vec::new(),
            models: Vec::new(),
            by_name: HashMap::new(),
        };
        for (api, text) in [
            (Api::Participant, PARTICIPANT_MODEL),
            (Api::Connect, CONNECT_CHAT_MODEL),
            (Api::Connect, CONNECT_ORG_MODEL),
        ] {
            // The models are part of the binary and covered by tests, so a parse failure is a
            // build defect, not a runtime condition.
            let model: Value =
                serde_json::from_str(text).expect("embedded API model is valid JSON");
            add_model(&mut catalog, api, model);
        }
        catalog
    });
    &CATALOG
}

fn add_model(catalog: &mut Catalog, api: Api, model: Value) {
    let model_index = catalog.models.len();
    let shapes = model
        .get("shapes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let operations = model
        .get("operations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, op) in operations {
        let key = (api, name.clone());
        if catalog.by_name.contains_key(&key) {
            continue;
        }
        let text = |ptr: &str| op.pointer(ptr).and_then(Value::as_str).map(str::to_string);
        let auth = match (api, name.as_str()) {
            (Api::Connect, _) => AuthScheme::SigV4,
            (Api::Participant, "CreateParticipantConnection") => AuthScheme::ParticipantToken,
            (Api::Participant, _) => AuthScheme::ConnectionToken,
        };
        let errors = op
            .get("errors")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|e| e.get("shape").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        catalog.by_name.insert(key, catalog.operations.len());
        catalog.operations.push(Operation {
            api,
            method: text("/http/method").unwrap_or_else(|| "POST".into()),
            path: text("/http/requestUri").unwrap_or_else(|| "/".into()),
            input: text("/input/shape"),
            name,
            auth,
            errors,
            model: model_index,
        });
    }
    catalog.models.push(Shapes { shapes });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_operation_is_in_the_table() {
        let catalog = catalog();
        let participant = catalog
            .operations
            .iter()
            .filter(|op| op.api == Api::Participant)
            .count();
        let connect = catalog
            .operations
            .iter()
            .filter(|op| op.api == Api::Connect)
            .count();
        assert_eq!(participant, 11);
        assert_eq!(connect, 69);
    }

    #[test]
    fn operations_carry_method_path_and_auth() {
        let op = catalog().find(Api::Connect, "StartChatContact").unwrap();
        assert_eq!(
            (op.method.as_str(), op.path.as_str()),
            ("PUT", "/contact/chat")
        );
        assert_eq!(op.auth, AuthScheme::SigV4);
        assert!(op.may_return("LimitExceededException"));

        let op = catalog()
            .find(Api::Participant, "CreateParticipantConnection")
            .unwrap();
        assert_eq!(op.auth, AuthScheme::ParticipantToken);
        let op = catalog().find(Api::Participant, "DescribeView").unwrap();
        assert_eq!(
            (op.method.as_str(), op.path.as_str()),
            ("GET", "/participant/views/{ViewToken}")
        );
        assert_eq!(op.auth, AuthScheme::ConnectionToken);
    }
}
