//! Verification of the JWTs a customer's website backend signs for the chat widget (Amazon
//! Connect's widget "security" feature).
//!
//! The website shares a secret with Liaison and signs `{"sub": widget id, "iat", "exp",
//! "attributes": {...}}` with HS256. The widget passes the token on when it starts a chat, so
//! the attributes can be trusted as coming from the website and not from whoever runs the
//! browser. Only HS256 with the widget's own secrets is accepted: nothing in the token's header
//! can choose the algorithm or supply a key, which rules out `alg: none` and key-confusion
//! tricks.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The largest token accepted, in bytes (Connect's limit).
pub const MAX_TOKEN_BYTES: usize = 6_144;
/// The longest a token may live: `exp` at most this many seconds after `iat`.
pub const MAX_LIFETIME_SECS: i64 = 600;
/// How far ahead of our clock a website's clock may run before its `iat` is refused.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// The only signing algorithm accepted.
const ALGORITHM: &str = "HS256";
/// The length of an HMAC-SHA256 tag.
const SIGNATURE_BYTES: usize = 32;
/// Values from the token shown in error messages are cut to this many characters, so a
/// hostile token cannot fill a response or a log line.
const SHOWN_CHARS: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// Why a widget token was refused. The `Display` text is meant for the API's caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    TooLarge { bytes: usize },
    /// The token does not have exactly three dot-separated segments.
    SegmentCount { segments: usize },
    /// A segment is not unpadded base64url; `segment` is "header", "payload" or "signature".
    NotBase64Url { segment: &'static str },
    /// The header is not a JSON object.
    HeaderNotObject,
    /// The header has no `alg`.
    AlgorithmMissing,
    /// The header's `alg` is not "HS256"; holds the alg as written (JSON text if not a string).
    AlgorithmUnsupported { alg: String },
    /// The header's `typ` is present and is not "JWT".
    TypeUnsupported { typ: String },
    /// The header has a `crit` list; no critical extensions are supported.
    CriticalHeader,
    /// The widget has no active security key to check the signature with.
    NoSecrets,
    /// The signature does not decode to a 32-byte HMAC-SHA256 tag.
    SignatureLength { bytes: usize },
    /// The signature was not made with any of the widget's security keys.
    SignatureMismatch,
    /// The payload is not a JSON object.
    PayloadNotObject,
    /// The payload has no `sub`.
    SubjectMissing,
    /// The payload's `sub` is not this widget's id.
    SubjectMismatch { sub: String, widget_id: String },
    /// The payload has no `iat`.
    IssuedAtMissing,
    /// The payload's `iat` is not a JSON number.
    IssuedAtNotNumber,
    /// The payload's `iat` is more than [`MAX_CLOCK_SKEW_SECS`] ahead of now.
    IssuedInFuture { iat_secs: i64, now_secs: i64 },
    /// The payload has no `exp`.
    ExpiryMissing,
    /// The payload's `exp` is not a JSON number.
    ExpiryNotNumber,
    /// The payload's `exp` is not after now.
    Expired { exp_secs: i64, now_secs: i64 },
    /// `exp` is more than [`MAX_LIFETIME_SECS`] after `iat`.
    LifetimeTooLong { lifetime_secs: i64 },
    /// The payload's `attributes` is present but not a JSON object.
    AttributesNotObject,
    /// An attribute has an empty name.
    AttributeKeyEmpty,
    /// An attribute's value is not a string.
    AttributeNotString { key: String },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::TooLarge { bytes } => write!(
                f,
                "The token is {bytes} bytes; widget tokens may be at most {MAX_TOKEN_BYTES} bytes."
            ),
            TokenError::SegmentCount { segments } => write!(
                f,
                "The token has {segments} dot-separated segments; a JWT has exactly 3."
            ),
            TokenError::NotBase64Url { segment } => {
                write!(f, "The token's {segment} is not unpadded base64url.")
            }
            TokenError::HeaderNotObject => f.write_str("The token's header is not a JSON object."),
            TokenError::AlgorithmMissing => write!(
                f,
                "The token's header has no alg; widget tokens must be {ALGORITHM}."
            ),
            TokenError::AlgorithmUnsupported { alg } => write!(
                f,
                "The token's alg is {}; widget tokens must be {ALGORITHM}.",
                shown(alg)
            ),
            TokenError::TypeUnsupported { typ } => write!(
                f,
                "The token's typ is {}; widget tokens must be JWT.",
                shown(typ)
            ),
            TokenError::CriticalHeader => f.write_str(
                "The token's header has crit; no critical header extensions are supported.",
            ),
            TokenError::NoSecrets => f.write_str(
                "The widget has no active security key, so its tokens cannot be verified.",
            ),
            TokenError::SignatureLength { bytes } => write!(
                f,
                "The token's signature is {bytes} bytes; an {ALGORITHM} signature is \
                 {SIGNATURE_BYTES} bytes."
            ),
            TokenError::SignatureMismatch => f.write_str(
                "The token's signature does not match any of the widget's security keys.",
            ),
            TokenError::PayloadNotObject => {
                f.write_str("The token's payload is not a JSON object.")
            }
            TokenError::SubjectMissing => {
                f.write_str("The token has no sub claim; it must be the widget's id.")
            }
            TokenError::SubjectMismatch { sub, widget_id } => write!(
                f,
                "The token's sub is {}, but this widget's id is {}.",
                shown(sub),
                shown(widget_id)
            ),
            TokenError::IssuedAtMissing => f.write_str("The token has no iat claim."),
            TokenError::IssuedAtNotNumber => {
                f.write_str("The token's iat claim is not a number of seconds.")
            }
            TokenError::IssuedInFuture { iat_secs, now_secs } => write!(
                f,
                "The token was issued at {iat_secs}, more than {MAX_CLOCK_SKEW_SECS} seconds \
                 after now ({now_secs}); check the signing server's clock."
            ),
            TokenError::ExpiryMissing => f.write_str("The token has no exp claim."),
            TokenError::ExpiryNotNumber => {
                f.write_str("The token's exp claim is not a number of seconds.")
            }
            TokenError::Expired { exp_secs, now_secs } => {
                write!(f, "The token expired at {exp_secs}; it is now {now_secs}.")
            }
            TokenError::LifetimeTooLong { lifetime_secs } => write!(
                f,
                "The token's exp is {lifetime_secs} seconds after its iat; widget tokens may \
                 live at most {MAX_LIFETIME_SECS} seconds."
            ),
            TokenError::AttributesNotObject => {
                f.write_str("The token's attributes claim is not a JSON object of string values.")
            }
            TokenError::AttributeKeyEmpty => {
                f.write_str("The token's attributes claim has an attribute with an empty name.")
            }
            TokenError::AttributeNotString { key } => {
                write!(f, "The token's attribute {} is not a string.", shown(key))
            }
        }
    }
}

impl std::error::Error for TokenError {}

/// Checks a widget token and returns its `attributes` claim (empty when absent).
///
/// `secrets` are the widget's active security keys; the token may be signed by any of them, so
/// a key can be rotated without a gap. Each key's UTF-8 bytes are the HMAC key, as PyJWT uses a
/// string secret. `now_secs` is the current time in epoch seconds.
pub fn verify(
    token: &str,
    widget_id: &str,
    secrets: &[&str],
    now_secs: i64,
) -> Result<BTreeMap<String, String>, TokenError> {
    // Before any decoding, so an oversized token costs nothing.
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge { bytes: token.len() });
    }
    let segments: Vec<&str> = token.split('.').collect();
    let [header_segment, payload_segment, signature_segment] = segments[..] else {
        return Err(TokenError::SegmentCount {
            segments: segments.len(),
        });
    };
    let header_bytes = decode_segment(header_segment, "header")?;
    let payload_bytes = decode_segment(payload_segment, "payload")?;
    let signature = decode_segment(signature_segment, "signature")?;

    let header = parse_object(&header_bytes).ok_or(TokenError::HeaderNotObject)?;
    check_header(&header)?;
    check_signature(header_segment, payload_segment, &signature, secrets)?;

    // The payload is only interpreted once it is known to come from the website.
    let payload = parse_object(&payload_bytes).ok_or(TokenError::PayloadNotObject)?;
    check_subject(&payload, widget_id)?;
    check_times(&payload, now_secs)?;
    attributes(&payload)
}

/// Decodes one segment; the engine refuses padding and characters outside the URL-safe alphabet.
fn decode_segment(segment: &str, name: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::NotBase64Url { segment: name })
}

fn parse_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// Only `alg`, `typ` and `crit` matter. Key-carrying headers (`jwk`, `jku`, `x5u`, `x5c`, `kid`)
/// are deliberately ignored: the key always comes from the widget's configuration.
fn check_header(header: &Map<String, Value>) -> Result<(), TokenError> {
    match header.get("alg") {
        None => return Err(TokenError::AlgorithmMissing),
        Some(Value::String(alg)) if alg == ALGORITHM => {}
        Some(other) => {
            return Err(TokenError::AlgorithmUnsupported {
                alg: as_text(other),
            });
        }
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(other) => {
            return Err(TokenError::TypeUnsupported {
                typ: as_text(other),
            });
        }
    }
    // RFC 7515 says a recipient must reject critical extensions it does not understand.
    if header.contains_key("crit") {
        return Err(TokenError::CriticalHeader);
    }
    Ok(())
}

/// HMAC-SHA256 over the segments as sent (not re-encoded), compared in constant time.
fn check_signature(
    header_segment: &str,
    payload_segment: &str,
    signature: &[u8],
    secrets: &[&str],
) -> Result<(), TokenError> {
    if secrets.is_empty() {
        return Err(TokenError::NoSecrets);
    }
    if signature.len() != SIGNATURE_BYTES {
        return Err(TokenError::SignatureLength {
            bytes: signature.len(),
        });
    }
    let signed_by = |secret: &&str| {
        let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(header_segment.as_bytes());
        mac.update(b".");
        mac.update(payload_segment.as_bytes());
        mac.verify_slice(signature).is_ok()
    };
    if secrets.iter().any(signed_by) {
        Ok(())
    } else {
        Err(TokenError::SignatureMismatch)
    }
}

fn check_subject(payload: &Map<String, Value>, widget_id: &str) -> Result<(), TokenError> {
    match payload.get("sub") {
        None => Err(TokenError::SubjectMissing),
        Some(Value::String(sub)) if sub == widget_id => Ok(()),
        Some(other) => Err(TokenError::SubjectMismatch {
            sub: as_text(other),
            widget_id: widget_id.to_owned(),
        }),
    }
}

/// `iat` and `exp` may be integers or fractions of a second (NumericDate allows both); the
/// comparisons are done in f64, which is exact for any realistic epoch second.
fn check_times(payload: &Map<String, Value>, now_secs: i64) -> Result<(), TokenError> {
    let iat = number_claim(payload, "iat")
        .ok_or(TokenError::IssuedAtMissing)?
        .ok_or(TokenError::IssuedAtNotNumber)?;
    let exp = number_claim(payload, "exp")
        .ok_or(TokenError::ExpiryMissing)?
        .ok_or(TokenError::ExpiryNotNumber)?;
    let now = now_secs as f64;
    if iat > now + MAX_CLOCK_SKEW_SECS as f64 {
        return Err(TokenError::IssuedInFuture {
            iat_secs: iat.ceil() as i64,
            now_secs,
        });
    }
    if exp <= now {
        return Err(TokenError::Expired {
            exp_secs: exp.floor() as i64,
            now_secs,
        });
    }
    let lifetime = exp - iat;
    if lifetime > MAX_LIFETIME_SECS as f64 {
        return Err(TokenError::LifetimeTooLong {
            lifetime_secs: lifetime.ceil() as i64,
        });
    }
    Ok(())
}

/// `None` when the claim is absent, `Some(None)` when it is there but not a number.
fn number_claim(payload: &Map<String, Value>, name: &str) -> Option<Option<f64>> {
    payload.get(name).map(Value::as_f64)
}

fn attributes(payload: &Map<String, Value>) -> Result<BTreeMap<String, String>, TokenError> {
    let Some(claim) = payload.get("attributes") else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(object) = claim else {
        return Err(TokenError::AttributesNotObject);
    };
    let mut attributes = BTreeMap::new();
    for (key, value) in object {
        if key.is_empty() {
            return Err(TokenError::AttributeKeyEmpty);
        }
        let Value::String(text) = value else {
            return Err(TokenError::AttributeNotString { key: key.clone() });
        };
        attributes.insert(key.clone(), text.clone());
    }
    Ok(attributes)
}

/// A header or claim value as written: strings without their quotes, anything else as JSON.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A value from the token made safe to echo: control characters escaped, length bounded.
fn shown(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .by_ref()
        .take(SHOWN_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WIDGET: &str = "widget-1";
    const SECRET: &str = "first-secret";
    const OTHER_SECRET: &str = "second-secret";
    const NOW: i64 = 1_700_000_000;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn segment(value: &Value) -> String {
        b64(value.to_string().as_bytes())
    }

    fn signature(header_segment: &str, payload_segment: &str, key: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(format!("{header_segment}.{payload_segment}").as_bytes());
        b64(&mac.finalize().into_bytes())
    }

    /// Signs already-encoded segments with `key`.
    fn sign_segments(header_segment: &str, payload_segment: &str, key: &[u8]) -> String {
        let sig = signature(header_segment, payload_segment, key);
        format!("{header_segment}.{payload_segment}.{sig}")
    }

    fn sign_with(header: &Value, payload: &Value, secret: &str) -> String {
        sign_segments(&segment(header), &segment(payload), secret.as_bytes())
    }

    fn standard_header() -> Value {
        json!({"alg": "HS256", "typ": "JWT"})
    }

    fn valid_payload() -> Value {
        json!({
            "sub": WIDGET,
            "iat": NOW - 10,
            "exp": NOW + 290,
            "attributes": {"name": "Jane", "memberID": "123456789", "empty": ""},
        })
    }

    fn check(token: &str) -> Result<BTreeMap<String, String>, TokenError> {
        verify(token, WIDGET, &[SECRET], NOW)
    }

    fn check_with_header(header: Value) -> Result<BTreeMap<String, String>, TokenError> {
        check(&sign_with(&header, &valid_payload(), SECRET))
    }

    fn check_with_payload(payload: Value) -> Result<BTreeMap<String, String>, TokenError> {
        check(&sign_with(&standard_header(), &payload, SECRET))
    }

    fn with_claim(name: &str, value: Value) -> Value {
        let mut payload = valid_payload();
        payload[name] = value;
        payload
    }

    fn without_claim(name: &str) -> Value {
        let mut payload = valid_payload();
        payload
            .as_object_mut()
            .expect("payload is an object")
            .remove(name);
        payload
    }

    fn expected_attributes() -> BTreeMap<String, String> {
        [("name", "Jane"), ("memberID", "123456789"), ("empty", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn valid_token_returns_attributes() {
        let token = sign_with(&standard_header(), &valid_payload(), SECRET);
        assert_eq!(check(&token), Ok(expected_attributes()));
    }

    #[test]
    fn token_made_like_pyjwt_with_non_ascii_secret_is_accepted() {
        // Made with Python's hmac/base64/json exactly as PyJWT's HS256 encode does.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ3aWRnZXQtMSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNTAwLCJhdHRyaWJ1dGVzIjp7Im5hbWUiOiJKYW5lIiwibWVtYmVySUQiOiIxMjM0NTY3ODkifX0.Qi6zIYo-MHvg3eW5wxaBi-j2IYEot1sR9Mq3kFdIdNw";
        let attributes = verify(token, WIDGET, &["clé-secrète"], NOW + 100).expect("valid");
        assert_eq!(attributes.get("name").map(String::as_str), Some("Jane"));
        assert_eq!(
            attributes.get("memberID").map(String::as_str),
            Some("123456789")
        );
    }

    #[test]
    fn jwt_io_example_signature_is_accepted() {
        // jwt.io's example token: the signature checks out, then the missing exp is reported.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_eq!(
            verify(token, "1234567890", &["your-256-bit-secret"], 1_516_239_022),
            Err(TokenError::ExpiryMissing)
        );
    }

    #[test]
    fn absent_attributes_give_empty_map() {
        assert_eq!(
            check_with_payload(without_claim("attributes")),
            Ok(BTreeMap::new())
        );
    }

    #[test]
    fn attributes_are_returned_as_is() {
        let payload = with_claim("attributes", json!({" padded ": "  value  "}));
        let attributes = check_with_payload(payload).expect("valid");
        assert_eq!(
            attributes.get(" padded ").map(String::as_str),
            Some("  value  ")
        );
    }

    #[test]
    fn token_signed_by_second_secret_is_accepted() {
        let token = sign_with(&standard_header(), &valid_payload(), OTHER_SECRET);
        assert_eq!(
            verify(&token, WIDGET, &[SECRET, OTHER_SECRET], NOW),
            Ok(expected_attributes())
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let token = sign_with(&standard_header(), &valid_payload(), "not-the-secret");
        assert_eq!(check(&token), Err(TokenError::SignatureMismatch));
    }

    #[test]
    fn no_secrets_is_rejected() {
        let token = sign_with(&standard_header(), &valid_payload(), SECRET);
        assert_eq!(verify(&token, WIDGET, &[], NOW), Err(TokenError::NoSecrets));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let token = sign_with(&standard_header(), &valid_payload(), SECRET);
        let [header, _, sig] = token.split('.').collect::<Vec<_>>()[..] else {
            panic!("three segments");
        };
        let forged = segment(&with_claim("attributes", json!({"memberID": "999"})));
        assert_eq!(
            check(&format!("{header}.{forged}.{sig}")),
            Err(TokenError::SignatureMismatch)
        );
    }

    #[test]
    fn alg_none_with_empty_signature_is_rejected() {
        let token = format!(
            "{}.{}.",
            segment(&json!({"alg": "none", "typ": "JWT"})),
            segment(&valid_payload())
        );
        assert_eq!(
            check(&token),
            Err(TokenError::AlgorithmUnsupported {
                alg: "none".to_owned()
            })
        );
    }

    #[test]
    fn alg_none_with_valid_looking_signature_is_rejected() {
        let token = check_with_header(json!({"alg": "none", "typ": "JWT"}));
        assert_eq!(
            token,
            Err(TokenError::AlgorithmUnsupported {
                alg: "none".to_owned()
            })
        );
    }

    #[test]
    fn other_algorithms_are_rejected() {
        for alg in ["HS384", "HS512", "RS256", "ES256", "PS256", "hs256"] {
            assert_eq!(
                check_with_header(json!({"alg": alg, "typ": "JWT"})),
                Err(TokenError::AlgorithmUnsupported {
                    alg: alg.to_owned()
                }),
                "{alg}"
            );
        }
    }

    #[test]
    fn hs512_signed_token_is_rejected() {
        let header = segment(&json!({"alg": "HS512", "typ": "JWT"}));
        let payload = segment(&valid_payload());
        let mut mac =
            Hmac::<sha2::Sha512>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(format!("{header}.{payload}").as_bytes());
        let token = format!("{header}.{payload}.{}", b64(&mac.finalize().into_bytes()));
        assert_eq!(
            check(&token),
            Err(TokenError::AlgorithmUnsupported {
                alg: "HS512".to_owned()
            })
        );
    }

    #[test]
    fn rs256_is_rejected_with_clear_message() {
        let error = check_with_header(json!({"alg": "RS256"})).expect_err("rejected");
        assert_eq!(
            error.to_string(),
            "The token's alg is RS256; widget tokens must be HS256."
        );
    }

    #[test]
    fn missing_alg_is_rejected() {
        assert_eq!(
            check_with_header(json!({"typ": "JWT"})),
            Err(TokenError::AlgorithmMissing)
        );
    }

    #[test]
    fn non_string_alg_is_rejected() {
        assert_eq!(
            check_with_header(json!({"alg": ["HS256"]})),
            Err(TokenError::AlgorithmUnsupported {
                alg: r#"["HS256"]"#.to_owned()
            })
        );
        assert_eq!(
            check_with_header(json!({"alg": null})),
            Err(TokenError::AlgorithmUnsupported {
                alg: "null".to_owned()
            })
        );
    }

    #[test]
    fn header_without_typ_is_accepted() {
        assert_eq!(
            check_with_header(json!({"alg": "HS256"})),
            Ok(expected_attributes())
        );
    }

    #[test]
    fn lowercase_typ_jwt_is_accepted() {
        assert_eq!(
            check_with_header(json!({"alg": "HS256", "typ": "jwt"})),
            Ok(expected_attributes())
        );
    }

    #[test]
    fn typ_jws_is_rejected() {
        assert_eq!(
            check_with_header(json!({"alg": "HS256", "typ": "JWS"})),
            Err(TokenError::TypeUnsupported {
                typ: "JWS".to_owned()
            })
        );
    }

    #[test]
    fn crit_header_is_rejected() {
        assert_eq!(
            check_with_header(json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]})),
            Err(TokenError::CriticalHeader)
        );
    }

    #[test]
    fn key_headers_are_ignored_when_signed_with_the_real_secret() {
        let header = json!({
            "alg": "HS256",
            "kid": "other-key",
            "jku": "https://attacker.example/keys",
            "x5u": "https://attacker.example/cert",
            "x5c": ["MIIB"],
        });
        assert_eq!(check_with_header(header), Ok(expected_attributes()));
    }

    #[test]
    fn embedded_jwk_key_confusion_is_rejected() {
        let attacker_key = b"attacker-chosen-key";
        let header = json!({
            "alg": "HS256",
            "typ": "JWT",
            "jwk": {"kty": "oct", "k": b64(attacker_key)},
            "kid": "attacker",
        });
        let token = sign_segments(&segment(&header), &segment(&valid_payload()), attacker_key);
        assert_eq!(check(&token), Err(TokenError::SignatureMismatch));
    }

    #[test]
    fn signature_of_wrong_length_is_rejected() {
        let token = sign_with(&standard_header(), &valid_payload(), SECRET);
        let truncated = &token[..token.len() - 4];
        assert_eq!(
            check(truncated),
            Err(TokenError::SignatureLength { bytes: 29 })
        );
        let unsigned = &token[..=token.rfind('.').expect("has dots")];
        assert_eq!(
            check(unsigned),
            Err(TokenError::SignatureLength { bytes: 0 })
        );
    }

    #[test]
    fn sub_mismatch_is_rejected() {
        assert_eq!(
            check_with_payload(with_claim("sub", json!("widget-2"))),
            Err(TokenError::SubjectMismatch {
                sub: "widget-2".to_owned(),
                widget_id: WIDGET.to_owned()
            })
        );
    }

    #[test]
    fn non_string_sub_is_rejected() {
        assert_eq!(
            check_with_payload(with_claim("sub", json!(1))),
            Err(TokenError::SubjectMismatch {
                sub: "1".to_owned(),
                widget_id: WIDGET.to_owned()
            })
        );
    }

    #[test]
    fn sub_missing_is_rejected() {
        assert_eq!(
            check_with_payload(without_claim("sub")),
            Err(TokenError::SubjectMissing)
        );
    }

    #[test]
    fn iat_missing_is_rejected() {
        assert_eq!(
            check_with_payload(without_claim("iat")),
            Err(TokenError::IssuedAtMissing)
        );
    }

    #[test]
    fn iat_as_string_is_rejected() {
        assert_eq!(
            check_with_payload(with_claim("iat", json!((NOW - 10).to_string()))),
            Err(TokenError::IssuedAtNotNumber)
        );
    }

    #[test]
    fn exp_missing_is_rejected() {
        assert_eq!(
            check_with_payload(without_claim("exp")),
            Err(TokenError::ExpiryMissing)
        );
    }

    #[test]
    fn exp_as_string_is_rejected() {
        assert_eq!(
            check_with_payload(with_claim("exp", json!((NOW + 10).to_string()))),
            Err(TokenError::ExpiryNotNumber)
        );
    }

    #[test]
    fn fractional_times_are_accepted() {
        let mut payload = valid_payload();
        payload["iat"] = json!(NOW as f64 - 0.5);
        payload["exp"] = json!(NOW as f64 + 0.5);
        assert_eq!(check_with_payload(payload), Ok(expected_attributes()));
    }

    #[test]
    fn expired_token_is_rejected() {
        let mut payload = valid_payload();
        payload["iat"] = json!(NOW - 100);
        payload["exp"] = json!(NOW);
        assert_eq!(
            check_with_payload(payload),
            Err(TokenError::Expired {
                exp_secs: NOW,
                now_secs: NOW
            })
        );
    }

    #[test]
    fn lifetime_of_600_seconds_is_accepted() {
        let mut payload = valid_payload();
        payload["iat"] = json!(NOW - 100);
        payload["exp"] = json!(NOW + 500);
        assert_eq!(check_with_payload(payload), Ok(expected_attributes()));
    }

    #[test]
    fn lifetime_of_601_seconds_is_rejected() {
        let mut payload = valid_payload();
        payload["iat"] = json!(NOW - 100);
        payload["exp"] = json!(NOW + 501);
        assert_eq!(
            check_with_payload(payload),
            Err(TokenError::LifetimeTooLong { lifetime_secs: 601 })
        );
    }

    #[test]
    fn iat_within_clock_skew_is_accepted() {
        let mut payload = valid_payload();
        payload["iat"] = json!(NOW + MAX_CLOCK_SKEW_SECS);
        payload["exp"] = json!(NOW + 300);
        assert_eq!(check_with_payload(payload), Ok(expected_attributes()));
    }

    #[test]
    fn iat_far_in_future_is_rejected() {
        let mut payload = valid_payload();
        payload["iat"] = json!(NOW + 3_600);
        payload["exp"] = json!(NOW + 3_900);
        assert_eq!(
            check_with_payload(payload),
            Err(TokenError::IssuedInFuture {
                iat_secs: NOW + 3_600,
                now_secs: NOW
            })
        );
    }

    /// A validly signed token of exactly `bytes` bytes. It grows by an attribute's length; an
    /// unused header field shifts it, since unpadded base64 never has a length of 4n + 1.
    fn token_of_length(bytes: usize) -> String {
        for header_pad in 0..4 {
            let header = json!({"alg": "HS256", "typ": "JWT", "pad": "x".repeat(header_pad)});
            for attribute_pad in 0..bytes {
                let payload = with_claim("attributes", json!({"pad": "x".repeat(attribute_pad)}));
                let token = sign_with(&header, &payload, SECRET);
                if token.len() == bytes {
                    return token;
                }
                if token.len() > bytes {
                    break;
                }
            }
        }
        panic!("no token of {bytes} bytes");
    }

    #[test]
    fn token_of_max_size_is_accepted() {
        let token = token_of_length(MAX_TOKEN_BYTES);
        assert!(check(&token).is_ok());
    }

    #[test]
    fn token_of_6145_bytes_is_rejected() {
        let token = token_of_length(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            check(&token),
            Err(TokenError::TooLarge {
                bytes: MAX_TOKEN_BYTES + 1
            })
        );
    }

    #[test]
    fn oversized_garbage_is_rejected_before_decoding() {
        let token = "!".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            check(&token),
            Err(TokenError::TooLarge {
                bytes: MAX_TOKEN_BYTES + 1
            })
        );
    }

    #[test]
    fn two_segments_are_rejected() {
        let token = sign_with(&standard_header(), &valid_payload(), SECRET);
        let two = &token[..token.rfind('.').expect("has dots")];
        assert_eq!(check(two), Err(TokenError::SegmentCount { segments: 2 }));
    }

    #[test]
    fn four_segments_are_rejected() {
        let token = sign_with(&standard_header(), &valid_payload(), SECRET);
        assert_eq!(
            check(&format!("{token}.")),
            Err(TokenError::SegmentCount { segments: 4 })
        );
    }

    #[test]
    fn empty_token_is_rejected() {
        assert_eq!(check(""), Err(TokenError::SegmentCount { segments: 1 }));
    }

    #[test]
    fn padding_is_rejected() {
        // This header encodes to a length that standard base64 would pad.
        let header = json!({"alg": "HS256", "typ": "JWT", "x": "a"});
        let unpadded = segment(&header);
        assert_ne!(unpadded.len() % 4, 0, "needs padding to be a real test");
        let padded = format!("{unpadded}{}", "=".repeat(4 - unpadded.len() % 4));
        let token = sign_segments(&padded, &segment(&valid_payload()), SECRET.as_bytes());
        assert_eq!(
            check(&token),
            Err(TokenError::NotBase64Url { segment: "header" })
        );
    }

    #[test]
    fn bad_base64_is_rejected() {
        let header = segment(&standard_header());
        let payload = segment(&valid_payload());
        // '+' and '/' belong to standard base64, not the URL-safe alphabet.
        let token = sign_segments(&header, &format!("{payload}+/"), SECRET.as_bytes());
        assert_eq!(
            check(&token),
            Err(TokenError::NotBase64Url { segment: "payload" })
        );
        let token = format!("{header}.{payload}.not*base64");
        assert_eq!(
            check(&token),
            Err(TokenError::NotBase64Url {
                segment: "signature"
            })
        );
    }

    #[test]
    fn header_not_json_is_rejected() {
        let token = sign_segments(
            &b64(b"not json"),
            &segment(&valid_payload()),
            SECRET.as_bytes(),
        );
        assert_eq!(check(&token), Err(TokenError::HeaderNotObject));
    }

    #[test]
    fn header_json_array_is_rejected() {
        assert_eq!(
            check_with_header(json!(["alg", "HS256"])),
            Err(TokenError::HeaderNotObject)
        );
    }

    #[test]
    fn payload_not_object_is_rejected() {
        assert_eq!(
            check_with_payload(json!("widget-1")),
            Err(TokenError::PayloadNotObject)
        );
        let token = sign_segments(
            &segment(&standard_header()),
            &b64(b"{not json"),
            SECRET.as_bytes(),
        );
        assert_eq!(check(&token), Err(TokenError::PayloadNotObject));
    }

    #[test]
    fn attributes_not_object_are_rejected() {
        for attributes in [
            json!(["Jane"]),
            json!("Jane"),
            json!(1),
            json!(true),
            json!(null),
        ] {
            assert_eq!(
                check_with_payload(with_claim("attributes", attributes.clone())),
                Err(TokenError::AttributesNotObject),
                "{attributes}"
            );
        }
    }

    #[test]
    fn non_string_attribute_values_are_rejected() {
        for value in [
            json!(["a"]),
            json!(1),
            json!(true),
            json!(null),
            json!({"a": "b"}),
        ] {
            let attributes = json!({"name": "Jane", "bad": value});
            assert_eq!(
                check_with_payload(with_claim("attributes", attributes)),
                Err(TokenError::AttributeNotString {
                    key: "bad".to_owned()
                }),
                "{value}"
            );
        }
    }

    #[test]
    fn empty_attribute_key_is_rejected() {
        assert_eq!(
            check_with_payload(with_claim("attributes", json!({"": "value"}))),
            Err(TokenError::AttributeKeyEmpty)
        );
    }

    #[test]
    fn echoed_values_are_escaped_and_bounded() {
        let error = TokenError::AlgorithmUnsupported {
            alg: format!("bad\nalg{}", "x".repeat(500)),
        };
        let message = error.to_string();
        assert!(message.starts_with("The token's alg is bad\\nalg"));
        assert!(!message.contains('\n'));
        assert!(message.len() < 200);
    }
}
