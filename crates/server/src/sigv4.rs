//! Server-side verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
//!
//! Liaison speaks the Amazon Connect wire API so that boto3, the AWS CLI and the
//! AWS SDKs work against it unchanged. Those clients sign every request with
//! SigV4; this module recomputes the signature from the request exactly as it
//! arrived on the wire and compares it with the one the client sent.
//!
//! The errors mirror what AWS itself answers (error code, HTTP status and the
//! wording of the message), because SDKs surface those codes to applications
//! (botocore raises `ClientError` with `Error.Code` set to them) and retry or
//! give up depending on the code.
//!
//! Only the `Authorization` header form is supported (no presigned query
//! strings): that is what every SDK uses for the Connect API.
//!
//! # The double-encoding quirk
//!
//! ```text
//! For every AWS service except S3, the canonical URI is the request path
//! URI-encoded TWICE. SDKs first encode each path label when building the URL
//! (the flow id "abc:$SAVED" is sent on the wire as "abc%3A%24SAVED") and then
//! the signer encodes the whole, already-encoded path once more, so "%" itself
//! becomes "%25":
//!
//!     wire path       /contact-flows/i-1/abc%3A%24SAVED
//!     canonical URI   /contact-flows/i-1/abc%253A%2524SAVED
//!
//! The server therefore must NOT decode the path before canonicalising it: it
//! takes the raw path as received, removes "." / ".." and empty segments
//! (botocore and the JS v3 signer both do this before encoding), and encodes
//! the result again with the RFC 3986 unreserved set, keeping "/". S3 is the
//! exception (single encoding, no normalisation) and is not served here.
//! ```

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The only signing algorithm AWS SDKs use with the Connect API.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The fixed last element of every SigV4 credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// Value of `x-amz-content-sha256` meaning "the payload is not part of the signature".
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// AWS accepts requests whose timestamp is within 5 minutes of its own clock.
pub const DEFAULT_MAX_SKEW_SECS: i64 = 300;

const HEADER_AUTHORIZATION: &str = "authorization";
const HEADER_AMZ_DATE: &str = "x-amz-date";
const HEADER_DATE: &str = "date";
const HEADER_HOST: &str = "host";
const HEADER_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Month abbreviations of RFC 7231 / RFC 2822 dates, matched case-insensitively.
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Client-supplied text echoed back in error messages is cut to this many
/// characters so a huge header cannot blow up the response.
const MAX_ECHO_CHARS: usize = 256;

/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) are the only ones
/// SigV4 leaves unencoded; everything else, including every non-ASCII byte, is
/// `%XX` with upper-case hex.
const URI_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Same as [`URI_UNRESERVED`] but keeps the path separator.
const PATH_SAFE: &AsciiSet = &URI_UNRESERVED.remove(b'/');

type HmacSha256 = Hmac<Sha256>;

/// The parts of an incoming HTTP request that take part in the signature.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path exactly as received on the wire, still percent-encoded (e.g. "/contact-flows/abc/flow%3A%24SAVED").
    pub raw_path: &'a str,
    /// The raw query string without '?', if any.
    pub raw_query: Option<&'a str>,
    /// Must contain a `host` header; for HTTP/2 requests the caller copies the
    /// `:authority` into it, since that is what the client signed as `host`.
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Who signed a request that verified successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSigner {
    pub access_key_id: String,
    /// Region named in the credential scope; any region is accepted.
    pub region: String,
}

/// Why a request was refused. Each variant maps to the code, status and
/// message an AWS endpoint answers in the same situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigV4Error {
    /// No `Authorization` header at all.
    MissingAuthenticationToken,
    /// The `Authorization` header (or the date header) is malformed or lacks a
    /// required part; the text says which.
    IncompleteSignature(String),
    /// The access key id is not known.
    UnrecognizedClient,
    /// The recomputed signature differs from the one sent (wrong secret,
    /// tampered request, or a client that canonicalises differently).
    SignatureDoesNotMatch,
    /// The request timestamp is older than `now - max_skew`.
    SignatureExpired {
        request_time: String,
        earliest_allowed: String,
        now: String,
        max_skew: String,
    },
    /// The request timestamp is later than `now + max_skew`.
    SignatureNotYetCurrent {
        request_time: String,
        latest_allowed: String,
        now: String,
        max_skew: String,
    },
    /// The credential scope names another service than this endpoint.
    WrongService { expected: String },
    /// The date in the credential scope is not the date of the request timestamp.
    ScopeDateMismatch {
        scope_date: String,
        request_date: String,
        request_time: String,
    },
    /// `x-amz-content-sha256` is present but is not the SHA-256 of the body.
    ContentSha256Mismatch,
}

impl SigV4Error {
    /// The AWS error code a client receives, e.g. "InvalidSignatureException".
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            SigV4Error::IncompleteSignature(_) => "IncompleteSignatureException",
            SigV4Error::UnrecognizedClient => "UnrecognizedClientException",
            SigV4Error::SignatureDoesNotMatch
            | SigV4Error::SignatureExpired { .. }
            | SigV4Error::SignatureNotYetCurrent { .. }
            | SigV4Error::WrongService { .. }
            | SigV4Error::ScopeDateMismatch { .. }
            | SigV4Error::ContentSha256Mismatch => "InvalidSignatureException",
        }
    }

    /// HTTP status to answer with.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            SigV4Error::IncompleteSignature(_) => 400,
            _ => 403,
        }
    }

    /// Human-readable message in AWS's own wording.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            SigV4Error::MissingAuthenticationToken => "Missing Authentication Token".to_owned(),
            SigV4Error::IncompleteSignature(text) => text.clone(),
            SigV4Error::UnrecognizedClient => {
                "The security token included in the request is invalid.".to_owned()
            }
            SigV4Error::SignatureDoesNotMatch => "The request signature we calculated does not \
                 match the signature you provided. Check your AWS Secret Access Key and signing \
                 method. Consult the service documentation for details."
                .to_owned(),
            SigV4Error::SignatureExpired {
                request_time,
                earliest_allowed,
                now,
                max_skew,
            } => format!(
                "Signature expired: {request_time} is now earlier than {earliest_allowed} \
                 ({now} - {max_skew})"
            ),
            SigV4Error::SignatureNotYetCurrent {
                request_time,
                latest_allowed,
                now,
                max_skew,
            } => format!(
                "Signature not yet current: {request_time} is still later than {latest_allowed} \
                 ({now} + {max_skew})"
            ),
            SigV4Error::WrongService { expected } => {
                format!("Credential should be scoped to correct service: '{expected}'.")
            }
            SigV4Error::ScopeDateMismatch {
                scope_date,
                request_date,
                request_time,
            } => format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{scope_date}' != '{request_date}', from '{request_time}'."
            ),
            SigV4Error::ContentSha256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .to_owned()
            }
        }
    }
}

impl std::fmt::Display for SigV4Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for SigV4Error {}

/// Verifies the SigV4 signature of `req`.
///
/// `service` is the expected signing name ("connect"); `lookup_secret` maps an access key id to its secret;
/// `now_unix` is the current time in Unix seconds (injected so tests control the clock); `max_skew_secs` is 300 normally.
///
/// Checks run in the order AWS reports them: structure of the header first
/// (so a broken client learns what it got wrong), then scope and clock, then
/// the key, and the cryptographic comparison last.
///
/// # Errors
///
/// Every refusal is a [`SigV4Error`] whose [`code`](SigV4Error::code),
/// [`status`](SigV4Error::status) and [`message`](SigV4Error::message) are
/// meant to be sent to the client unchanged.
pub fn verify(
    req: &SignedRequest<'_>,
    service: &str,
    lookup_secret: impl Fn(&str) -> Option<String>,
    now_unix: i64,
    max_skew_secs: i64,
) -> Result<VerifiedSigner, SigV4Error> {
    let header = req
        .headers
        .get(HEADER_AUTHORIZATION)
        .ok_or(SigV4Error::MissingAuthenticationToken)?;
    let header = header.to_str().map_err(|_| {
        SigV4Error::IncompleteSignature(
            "Authorization header contains characters that are not visible ASCII.".to_owned(),
        )
    })?;
    let auth = parse_authorization(header)?;
    let time = request_time(req.headers)?;

    // Host pins the signature to this endpoint; the time header is what the
    // skew check trusts. AWS insists on both being signed. Anything else the
    // client chose not to sign (x-amz-user-agent, amz-sdk-*, ...) is tolerated.
    if !auth.signs(HEADER_HOST) {
        return Err(SigV4Error::IncompleteSignature(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    if !auth.signs(time.header) {
        let shown = if time.header == HEADER_AMZ_DATE {
            "X-Amz-Date"
        } else {
            "Date"
        };
        return Err(SigV4Error::IncompleteSignature(format!(
            "'{shown}' must be a 'SignedHeader' in the AWS Authorization."
        )));
    }

    if auth.service != service {
        return Err(SigV4Error::WrongService {
            expected: service.to_owned(),
        });
    }
    let request_date = time.amz_date.get(..8).unwrap_or_default();
    if auth.date != request_date {
        return Err(SigV4Error::ScopeDateMismatch {
            scope_date: echo(auth.date),
            request_date: request_date.to_owned(),
            request_time: time.amz_date.clone(),
        });
    }
    check_skew(time.unix, now_unix, max_skew_secs)?;

    let secret = lookup_secret(auth.access_key_id).ok_or(SigV4Error::UnrecognizedClient)?;

    let payload_hash = hex::encode(Sha256::digest(req.body));
    if let Some(claimed) = req.headers.get(HEADER_CONTENT_SHA256) {
        let claimed = claimed.to_str().map(str::trim).unwrap_or_default();
        if claimed != UNSIGNED_PAYLOAD && !claimed.eq_ignore_ascii_case(&payload_hash) {
            return Err(SigV4Error::ContentSha256Mismatch);
        }
    }

    let canonical = canonical_request(
        req.method,
        req.raw_path,
        req.raw_query,
        req.headers,
        &auth.signed_headers,
        &payload_hash,
    );
    let scope = format!(
        "{}/{}/{}/{}",
        auth.date, auth.region, auth.service, SCOPE_TERMINATOR
    );
    let to_sign = string_to_sign(&time.amz_date, &scope, &canonical);
    let key = signing_key(&secret, auth.date, auth.region, auth.service)?;

    let provided = hex::decode(auth.signature).map_err(|_| SigV4Error::SignatureDoesNotMatch)?;
    let mac = HmacSha256::new_from_slice(&key).map_err(|_| SigV4Error::SignatureDoesNotMatch)?;
    // verify_slice compares in constant time and rejects wrong lengths.
    mac.chain_update(to_sign.as_bytes())
        .verify_slice(&provided)
        .map_err(|_| SigV4Error::SignatureDoesNotMatch)?;

    Ok(VerifiedSigner {
        access_key_id: auth.access_key_id.to_owned(),
        region: auth.region.to_owned(),
    })
}

/// The `Authorization` header, split into its parts. Borrowed from the header
/// value so parsing allocates only the signed-header list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization<'h> {
    access_key_id: &'h str,
    /// Scope date, `YYYYMMDD`.
    date: &'h str,
    region: &'h str,
    service: &'h str,
    /// Lower-cased, in the order the client listed them.
    signed_headers: Vec<String>,
    /// Hex signature as sent.
    signature: &'h str,
}

impl Authorization<'_> {
    fn signs(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b;c, Signature=hex`.
///
/// SDKs differ in separators (botocore writes ", ", some clients write "," or
/// several spaces), so components are split on any run of commas and
/// whitespace; parameter names are matched case-insensitively and unknown
/// components are ignored.
fn parse_authorization(value: &str) -> Result<Authorization<'_>, SigV4Error> {
    let incomplete = SigV4Error::IncompleteSignature;
    let trimmed = value.trim_matches(is_separator);
    if trimmed.is_empty() {
        return Err(incomplete(
            "Authorization header cannot be empty: 'Authorization='".to_owned(),
        ));
    }
    let (algorithm, rest) = trimmed.split_once(is_separator).unwrap_or((trimmed, ""));
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'. Only '{ALGORITHM}' is accepted.",
            echo(algorithm)
        )));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in rest.split(is_separator).filter(|c| !c.is_empty()) {
        let Some((key, val)) = component.split_once('=') else {
            continue;
        };
        let slot = if key.eq_ignore_ascii_case("Credential") {
            &mut credential
        } else if key.eq_ignore_ascii_case("SignedHeaders") {
            &mut signed_headers
        } else if key.eq_ignore_ascii_case("Signature") {
            &mut signature
        } else {
            continue;
        };
        if slot.is_some() {
            return Err(incomplete(format!(
                "Authorization header has a duplicate '{}' parameter. Authorization={}",
                echo(key),
                echo(value)
            )));
        }
        if !val.is_empty() {
            *slot = Some(val);
        }
    }

    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(format!(
            "{} Authorization={}",
            missing.join(" "),
            echo(value)
        )));
    };

    let (access_key_id, date, region, service) = parse_credential(credential)?;
    let signed_headers = parse_signed_headers(signed_headers)?;

    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// `AKID/YYYYMMDD/region/service/aws4_request` → its four variable parts.
fn parse_credential(credential: &str) -> Result<(&str, &str, &str, &str), SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{}'",
            echo(credential)
        )));
    };
    if [access_key_id, date, region, service]
        .iter()
        .any(|p| p.is_empty())
    {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Credential must not have empty elements, got '{}'",
            echo(credential)
        )));
    }
    if *terminator != SCOPE_TERMINATOR {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not '{}'.",
            echo(terminator)
        )));
    }
    Ok((access_key_id, date, region, service))
}

/// `content-type;host;x-amz-date` → lower-cased names, order kept (the
/// client built its canonical headers in this order).
fn parse_signed_headers(list: &str) -> Result<Vec<String>, SigV4Error> {
    let names: Vec<String> = list.split(';').map(str::to_ascii_lowercase).collect();
    if names.iter().any(String::is_empty) {
        return Err(SigV4Error::IncompleteSignature(format!(
            "SignedHeaders must be a ';'-separated list of header names, got '{}'.",
            echo(list)
        )));
    }
    Ok(names)
}

fn is_separator(c: char) -> bool {
    c == ',' || c == ' ' || c == '\t'
}

/// Builds the canonical request:
///
/// ```text
/// METHOD\nCANONICAL_URI\nCANONICAL_QUERY\nCANONICAL_HEADERS\n\nSIGNED_HEADERS\nPAYLOAD_HASH
/// ```
///
/// Bytes rather than `String` because header values may legally carry
/// non-UTF-8 octets, and the client hashed them as bytes.
fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    signed_headers: &[String],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(raw_path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(raw_query).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&canonical_headers(headers, signed_headers));
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// The credentials and scope a request is signed with.
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Signs a request as the AWS SDKs do: sets `x-amz-date` and `authorization` on `headers`,
/// signing every header already there (which must include `host`). Liaison's load generator and
/// tests use it to call the Connect API; [`verify`] checks the result like any SDK's signature.
pub fn sign(
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &mut HeaderMap,
    body: &[u8],
    key: &SigningKey<'_>,
    now_unix: i64,
) -> Result<(), SigV4Error> {
    let amz_date = format_basic_iso8601(now_unix).ok_or(SigV4Error::SignatureDoesNotMatch)?;
    let amz_value = amz_date
        .parse()
        .map_err(|_| SigV4Error::SignatureDoesNotMatch)?;
    headers.insert(HEADER_AMZ_DATE, amz_value);
    let mut signed_headers: Vec<String> = headers
        .keys()
        .map(|name| name.as_str().to_ascii_lowercase())
        .filter(|name| name != HEADER_AUTHORIZATION)
        .collect();
    signed_headers.sort();
    signed_headers.dedup();
    let payload_hash = hex::encode(Sha256::digest(body));
    let canonical = canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        &signed_headers,
        &payload_hash,
    );
    let date = &amz_date[..8];
    let scope = format!("{date}/{}/{}/{SCOPE_TERMINATOR}", key.region, key.service);
    let to_sign = string_to_sign(&amz_date, &scope, &canonical);
    let signing = signing_key(key.secret_access_key, date, key.region, key.service)?;
    let signature = hex::encode(hmac_sha256(&signing, to_sign.as_bytes())?);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        key.access_key_id,
        signed_headers.join(";")
    );
    let value = authorization.parse().map_err(|_| {
        SigV4Error::IncompleteSignature("the access key id is not a valid header value".into())
    })?;
    headers.insert(HEADER_AUTHORIZATION, value);
    Ok(())
}

/// Canonical URI: normalise the raw path, then percent-encode it again (see
/// the double-encoding note at the top of this file).
fn canonical_uri(raw_path: &str) -> String {
    percent_encode(normalize_path(raw_path).as_bytes(), PATH_SAFE).to_string()
}

/// RFC 3986 "remove dot segments" plus removal of empty segments, as botocore
/// (`remove_dot_segments`) and the JS v3 signer do before encoding. A leading
/// slash is kept, a trailing one is kept unless the path collapses to "/".
fn normalize_path(raw_path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(raw_path.len() + 1);
    if raw_path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&segments.join("/"));
    if raw_path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Canonical query string: every `key=value` pair decoded and re-encoded with
/// the unreserved set (so `%7e` and `~` agree), sorted by key then value. A
/// key without `=` has an empty value; empty pairs (`a=1&&b=2`) are dropped.
/// `+` is a literal plus, not a space: SigV4 uses RFC 3986 percent-encoding,
/// not HTML form encoding, and SDKs always send spaces as `%20`.
fn canonical_query(raw_query: Option<&str>) -> String {
    let Some(query) = raw_query else {
        return String::new();
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(key), reencode(value))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn reencode(component: &str) -> String {
    let bytes: Vec<u8> = percent_decode_str(component).collect();
    percent_encode(&bytes, URI_UNRESERVED).to_string()
}

/// `name:value\n` for each signed header, in the order of the signed-header
/// list. Values are trimmed and inner whitespace runs collapsed to one space;
/// repeated headers are joined with ','. A signed header that is absent
/// contributes an empty value, which then simply fails the comparison.
fn canonical_headers(headers: &HeaderMap, signed_headers: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in headers.get_all(name.as_str()).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            trim_all(value.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out
}

/// SigV4 "Trimall": strip leading/trailing whitespace and turn every inner
/// run of whitespace into a single space.
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let mut pending_space = false;
    let mut wrote_any = false;
    for &byte in value {
        if byte == b' ' || byte == b'\t' {
            pending_space = wrote_any;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(byte);
            wrote_any = true;
        }
    }
}

/// `AWS4-HMAC-SHA256\n<amzdate>\n<scope>\n<hex sha256 of canonical request>`.
fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request))
    )
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> Result<Vec<u8>, SigV4Error> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, SCOPE_TERMINATOR] {
        key = hmac_sha256(&key, part.as_bytes())?;
    }
    Ok(key)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, SigV4Error> {
    // HMAC accepts keys of any length, so this cannot fail; if it ever did,
    // refusing the request is the safe answer.
    let mac = HmacSha256::new_from_slice(key).map_err(|_| SigV4Error::SignatureDoesNotMatch)?;
    Ok(mac.chain_update(data).finalize().into_bytes().to_vec())
}

/// The request timestamp and where it came from.
struct RequestTime {
    unix: i64,
    /// ISO-8601 basic format, as it goes into the string to sign and scope.
    amz_date: String,
    /// Lower-case name of the header it came from (must be signed).
    header: &'static str,
}

/// `X-Amz-Date` (basic format) wins; `Date` (RFC 7231 / RFC 2822, or basic
/// format) is the fallback that the SigV4 spec allows and botocore uses when a
/// caller sets `Date` itself.
fn request_time(headers: &HeaderMap) -> Result<RequestTime, SigV4Error> {
    if let Some(value) = headers.get(HEADER_AMZ_DATE) {
        let text = value.to_str().map(str::trim).unwrap_or_default();
        let unix = parse_basic_iso8601(text).ok_or_else(|| bad_date(text))?;
        return Ok(RequestTime {
            unix,
            amz_date: text.to_owned(),
            header: HEADER_AMZ_DATE,
        });
    }
    if let Some(value) = headers.get(HEADER_DATE) {
        let text = value.to_str().map(str::trim).unwrap_or_default();
        let unix = parse_basic_iso8601(text)
            .or_else(|| parse_http_date(text))
            .ok_or_else(|| bad_date(text))?;
        let amz_date = format_basic_iso8601(unix).ok_or_else(|| bad_date(text))?;
        return Ok(RequestTime {
            unix,
            amz_date,
            header: HEADER_DATE,
        });
    }
    Err(SigV4Error::IncompleteSignature(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            .to_owned(),
    ))
}

fn bad_date(text: &str) -> SigV4Error {
    SigV4Error::IncompleteSignature(format!(
        "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
        echo(text)
    ))
}

/// `20261121T191601Z` → Unix seconds.
fn parse_basic_iso8601(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 4, 2)?;
    let day = digits(b, 6, 2)?;
    let hour = digits(b, 9, 2)?;
    let minute = digits(b, 11, 2)?;
    let second = digits(b, 13, 2)?;
    to_unix(year, month, day, hour, minute, second, 0)
}

/// `Sat, 21 Nov 2026 19:16:01 GMT` (RFC 7231) or `... -0000` (RFC 2822, what
/// Python's `email.utils.formatdate` writes) → Unix seconds. The weekday is
/// optional and not cross-checked.
fn parse_http_date(text: &str) -> Option<i64> {
    let mut tokens: Vec<&str> = text
        .split([' ', '\t', ','])
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.len() == 6 {
        tokens.remove(0);
    }
    let [day, month, year, clock, zone] = tokens.as_slice() else {
        return None;
    };
    let day_bytes = day.as_bytes();
    if day_bytes.is_empty() || day_bytes.len() > 2 {
        return None;
    }
    let day = digits(day_bytes, 0, day_bytes.len())?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))
        .and_then(|i| i32::try_from(i + 1).ok())?;
    if year.len() != 4 {
        return None;
    }
    let year = digits(year.as_bytes(), 0, 4)?;
    let c = clock.as_bytes();
    if c.len() != 8 || c[2] != b':' || c[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (digits(c, 0, 2)?, digits(c, 3, 2)?, digits(c, 6, 2)?);
    let offset_secs = match *zone {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        z => {
            let zb = z.as_bytes();
            if zb.len() != 5 {
                return None;
            }
            let sign = match zb[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours = digits(zb, 1, 2)?;
            let minutes = digits(zb, 3, 2)?;
            if minutes > 59 {
                return None;
            }
            sign * i64::from(hours * 3600 + minutes * 60)
        }
    };
    to_unix(year, month, day, hour, minute, second, offset_secs)
}

/// Parses `len` ASCII digits of `b` starting at `start`.
fn digits(b: &[u8], start: usize, len: usize) -> Option<i32> {
    let slice = b.get(start..start.checked_add(len)?)?;
    if slice.is_empty() {
        return None;
    }
    slice.iter().try_fold(0i32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + i32::from(d - b'0'))
    })
}

/// Calendar fields in the zone `offset_secs` east of UTC → Unix seconds.
fn to_unix(
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    minute: i32,
    second: i32,
    offset_secs: i64,
) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp()
        .checked_sub(offset_secs)
}

/// Unix seconds → `20261121T191601Z`; `None` outside the representable range.
fn format_basic_iso8601(unix: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(unix).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Rejects timestamps more than `max_skew_secs` away from `now_unix` in either
/// direction; a signature is a bearer credential, and the window bounds how
/// long a captured request can be replayed.
fn check_skew(request_unix: i64, now_unix: i64, max_skew_secs: i64) -> Result<(), SigV4Error> {
    let skew = max_skew_secs.max(0);
    let earliest = now_unix.saturating_sub(skew);
    let latest = now_unix.saturating_add(skew);
    let show = |t: i64| format_basic_iso8601(t).unwrap_or_else(|| format!("@{t}"));
    let show_skew = if skew % 60 == 0 {
        format!("{} min.", skew / 60)
    } else {
        format!("{skew} sec.")
    };
    if request_unix < earliest {
        return Err(SigV4Error::SignatureExpired {
            request_time: show(request_unix),
            earliest_allowed: show(earliest),
            now: show(now_unix),
            max_skew: show_skew,
        });
    }
    if request_unix > latest {
        return Err(SigV4Error::SignatureNotYetCurrent {
            request_time: show(request_unix),
            latest_allowed: show(latest),
            now: show(now_unix),
            max_skew: show_skew,
        });
    }
    Ok(())
}

/// Client text for an error message, cut to [`MAX_ECHO_CHARS`].
fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_ECHO_CHARS).collect();
    if out.len() < text.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_signatures_verify_and_tampering_is_caught() {
        let key = super::SigningKey {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "secret",
            region: "eu-west-1",
            service: "connect",
        };
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let body = br#"{"a":1}"#;
        let now = 1_795_000_000;
        super::sign(
            "GET",
            "/contact-flows/i/f%3A%24SAVED",
            Some("b=2&a=1"),
            &mut headers,
            body,
            &key,
            now,
        )
        .unwrap();
        let lookup = |id: &str| (id == "AKIDEXAMPLE").then(|| "secret".to_string());
        let request = |path: &'static str, body: &'static [u8], headers: &HeaderMap| {
            verify(
                &SignedRequest {
                    method: "GET",
                    raw_path: path,
                    raw_query: Some("b=2&a=1"),
                    headers,
                    body,
                },
                "connect",
                lookup,
                now,
                300,
            )
        };
        let signer = request("/contact-flows/i/f%3A%24SAVED", br#"{"a":1}"#, &headers).unwrap();
        assert_eq!(signer.region, "eu-west-1");
        assert!(request("/contact-flows/i/f%3A%24SAVEX", br#"{"a":1}"#, &headers).is_err());
        assert!(request("/contact-flows/i/f%3A%24SAVED", br#"{"a":2}"#, &headers).is_err());
    }

    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    const ACCESS_KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    /// 20261121T191601Z, the instant the vectors were signed at.
    const SIGNED_AT: i64 = 1_795_288_561;

    /// A request signed by botocore 1.44.5 (`botocore.auth.SigV4Auth` with the
    /// credentials above, service "connect", clock fixed at 20261121T191601Z).
    /// `canonical_request` and `string_to_sign` are what botocore computed.
    struct Vector {
        name: &'static str,
        method: &'static str,
        path: &'static str,
        query: Option<&'static str>,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
        region: &'static str,
        canonical_request: &'static str,
        string_to_sign: &'static str,
    }

    const VECTORS: &[Vector] = &[
        Vector {
            name: "put_contact_chat",
            method: "PUT",
            path: "/contact/chat",
            query: None,
            headers: &[
                ("host", "connect.us-east-1.amazonaws.com"),
                ("Content-Type", "application/json"),
                ("User-Agent", "Boto3/1.40.0 md/Botocore#1.44.5"),
                ("X-Amz-Date", "20261121T191601Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=8ef93a77eb3a540d9ef884608a74f8b07de0011dd07614046d16e8d9f3126f73",
                ),
            ],
            body: "{\"InstanceId\": \"11111111-2222-3333-4444-555555555555\", \"ContactFlowId\": \"abc\", \"ParticipantDetails\": {\"DisplayName\": \"Zoë\"}}",
            region: "us-east-1",
            canonical_request: "PUT\n/contact/chat\n\ncontent-type:application/json\nhost:connect.us-east-1.amazonaws.com\nx-amz-date:20261121T191601Z\n\ncontent-type;host;x-amz-date\n4da8914d78f495e1a18aa7b2b5ddb7ac7c0f477ede93af92983bc5e456abf576",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/us-east-1/connect/aws4_request\n2d62c1247557df681396773e999a9c2ab1d67103d0dcb8b863e982b185346334",
        },
        // Encoded ':' and '$' in the flow id: botocore double-encodes them.
        Vector {
            name: "get_flow_saved",
            method: "GET",
            path: "/contact-flows/11111111-2222-3333-4444-555555555555/a1b2c3d4-0000-1111-2222-333344445555%3A%24SAVED",
            query: None,
            headers: &[
                ("host", "connect.us-east-1.amazonaws.com"),
                ("X-Amz-Date", "20261121T191601Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature=e300976bfc0b55ac253106f4f6d2b0826857a388ab4a799fa227b1463d0f2046",
                ),
            ],
            body: "",
            region: "us-east-1",
            canonical_request: "GET\n/contact-flows/11111111-2222-3333-4444-555555555555/a1b2c3d4-0000-1111-2222-333344445555%253A%2524SAVED\n\nhost:connect.us-east-1.amazonaws.com\nx-amz-date:20261121T191601Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/us-east-1/connect/aws4_request\n303e4fa53ce692b64bd3496a3226699993f5f67ed251b18969fea0386dec0168",
        },
        // Repeated query key: sorted by key, then value.
        Vector {
            name: "list_flows_query",
            method: "GET",
            path: "/contact-flows-summary/11111111-2222-3333-4444-555555555555",
            query: Some(
                "contactFlowTypes=CONTACT_FLOW&contactFlowTypes=AGENT_WHISPER&maxResults=5",
            ),
            headers: &[
                ("host", "connect.us-east-1.amazonaws.com"),
                ("X-Amz-Date", "20261121T191601Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature=aea02636594aee8079f6cff3011b131d2bc8ea349e3f051cdfec5a3643f14e50",
                ),
            ],
            body: "",
            region: "us-east-1",
            canonical_request: "GET\n/contact-flows-summary/11111111-2222-3333-4444-555555555555\ncontactFlowTypes=AGENT_WHISPER&contactFlowTypes=CONTACT_FLOW&maxResults=5\nhost:connect.us-east-1.amazonaws.com\nx-amz-date:20261121T191601Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/us-east-1/connect/aws4_request\n1cb84350c66099e7b9ed91a30347d93599fd58bec2009a355ee97e1ef6f685f9",
        },
        // Host with a port, session token, x-amz-content-sha256, and a value
        // with runs of spaces and a tab.
        Vector {
            name: "host_with_port",
            method: "POST",
            path: "/contact/stop",
            query: None,
            headers: &[
                ("host", "127.0.0.1:8080"),
                ("Content-Type", "application/json"),
                (
                    "X-Amz-Content-SHA256",
                    "1c5f5475ba1b0f7e05f22c8cb599fe50f8e0ec8a9b49843ceb5edf6eff4656ea",
                ),
                ("X-Custom-Spaces", "  a   b \t c  "),
                ("X-Amz-Date", "20261121T191601Z"),
                ("X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLETOKEN"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-custom-spaces, Signature=3e448a6dd65e096316116876ea6d9cfa6367fa1d5dfbae03b1960e7e6f3b3342",
                ),
            ],
            body: "{\"ContactId\":\"c-1\",\"InstanceId\":\"i-1\"}",
            region: "us-east-1",
            canonical_request: "POST\n/contact/stop\n\ncontent-type:application/json\nhost:127.0.0.1:8080\nx-amz-content-sha256:1c5f5475ba1b0f7e05f22c8cb599fe50f8e0ec8a9b49843ceb5edf6eff4656ea\nx-amz-date:20261121T191601Z\nx-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\nx-custom-spaces:a b c\n\ncontent-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-custom-spaces\n1c5f5475ba1b0f7e05f22c8cb599fe50f8e0ec8a9b49843ceb5edf6eff4656ea",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/us-east-1/connect/aws4_request\n06e04e129fd430dc4761da4bdaaece9b2aed818e99a2bd19f4b1d69d8f1a59f7",
        },
        // botocore switches to the Date header when the caller sets one.
        Vector {
            name: "date_header",
            method: "GET",
            path: "/instance/i-1/queues",
            query: Some("maxResults=10&nextToken=a%2Bb%3D%3D"),
            headers: &[
                ("host", "127.0.0.1:8080"),
                ("Date", "Sat, 21 Nov 2026 19:16:01 -0000"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=date;host, Signature=f6c61d5731b604452dceb4669568197ea966602270afdadf9f220b278d4eb91c",
                ),
            ],
            body: "",
            region: "us-east-1",
            canonical_request: "GET\n/instance/i-1/queues\nmaxResults=10&nextToken=a%2Bb%3D%3D\ndate:Sat, 21 Nov 2026 19:16:01 -0000\nhost:127.0.0.1:8080\n\ndate;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/us-east-1/connect/aws4_request\ncf3725ade5e444b81ebcc4a556a5088791833ee711806c4b17ae428cff551dc1",
        },
        // An encoded ARN (with %2F) in the path, another region.
        Vector {
            name: "tag_arn_eu",
            method: "POST",
            path: "/tags/arn%3Aaws%3Aconnect%3Aeu-west-2%3A123456789012%3Ainstance%2Fabc",
            query: None,
            headers: &[
                ("host", "connect.eu-west-2.amazonaws.com"),
                ("Content-Type", "application/json"),
                ("X-Amz-Date", "20261121T191601Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/eu-west-2/connect/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5f219ebde7430023421ce374c5423b1089d05ce2e2ace91d5a81755ac6fb669b",
                ),
            ],
            body: "{\"tags\":{\"k\":\"v w\"}}",
            region: "eu-west-2",
            canonical_request: "POST\n/tags/arn%253Aaws%253Aconnect%253Aeu-west-2%253A123456789012%253Ainstance%252Fabc\n\ncontent-type:application/json\nhost:connect.eu-west-2.amazonaws.com\nx-amz-date:20261121T191601Z\n\ncontent-type;host;x-amz-date\n252616887c6059f3c88a8acae0534e49ca0c172225c525ae3abd62f1b7a0ddbf",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/eu-west-2/connect/aws4_request\n88954194be5043b173e323f672e53f7a312cf94e7a85cc5e45646dd757e37689",
        },
        // "." / ".." / empty segments are removed before encoding.
        Vector {
            name: "dot_segments",
            method: "GET",
            path: "/a//b/./c/../d/",
            query: None,
            headers: &[
                ("host", "connect.us-east-1.amazonaws.com"),
                ("X-Amz-Date", "20261121T191601Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature=f2f56edb2f63cf7fef0cd38f677ebe4d931290588a71aef397573d0828914b7b",
                ),
            ],
            body: "",
            region: "us-east-1",
            canonical_request: "GET\n/a/b/d/\n\nhost:connect.us-east-1.amazonaws.com\nx-amz-date:20261121T191601Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            string_to_sign: "AWS4-HMAC-SHA256\n20261121T191601Z\n20261121/us-east-1/connect/aws4_request\ncafa2b2a9578a8250060f0eeef012e849c280c4a647d4afc4703171ea77b2aa1",
        },
    ];

    fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
                HeaderValue::from_str(value).expect("test header value"),
            );
        }
        map
    }

    fn secrets(akid: &str) -> Option<String> {
        (akid == ACCESS_KEY).then(|| SECRET.to_owned())
    }

    fn verify_parts(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<VerifiedSigner, SigV4Error> {
        let req = SignedRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers,
            body,
        };
        verify(&req, "connect", secrets, now, DEFAULT_MAX_SKEW_SECS)
    }

    fn verify_vector(v: &Vector, headers: &HeaderMap) -> Result<VerifiedSigner, SigV4Error> {
        verify_parts(
            v.method,
            v.path,
            v.query,
            headers,
            v.body.as_bytes(),
            SIGNED_AT,
        )
    }

    fn vector(name: &str) -> &'static Vector {
        VECTORS
            .iter()
            .find(|v| v.name == name)
            .expect("known vector")
    }

    fn assert_invalid_signature(result: Result<VerifiedSigner, SigV4Error>, what: &str) {
        match result {
            Err(e) => {
                assert_eq!(e.code(), "InvalidSignatureException", "{what}: {e:?}");
                assert_eq!(e.status(), 403, "{what}");
            }
            Ok(_) => panic!("{what}: tampered request verified"),
        }
    }

    #[test]
    fn botocore_vectors_verify() {
        for v in VECTORS {
            let signer = verify_vector(v, &header_map(v.headers))
                .unwrap_or_else(|e| panic!("{}: {e:?}", v.name));
            assert_eq!(signer.access_key_id, ACCESS_KEY, "{}", v.name);
            assert_eq!(signer.region, v.region, "{}", v.name);
        }
    }

    #[test]
    fn canonical_request_and_string_to_sign_match_botocore() {
        for v in VECTORS {
            let headers = header_map(v.headers);
            let auth_value = headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .expect("vector has authorization");
            let auth = parse_authorization(auth_value).expect("vector header parses");
            let payload_hash = hex::encode(Sha256::digest(v.body.as_bytes()));
            let canonical = canonical_request(
                v.method,
                v.path,
                v.query,
                &headers,
                &auth.signed_headers,
                &payload_hash,
            );
            assert_eq!(
                String::from_utf8_lossy(&canonical),
                v.canonical_request,
                "{}",
                v.name
            );
            let scope = format!("20261121/{}/connect/aws4_request", v.region);
            assert_eq!(
                string_to_sign("20261121T191601Z", &scope, &canonical),
                v.string_to_sign,
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn path_is_double_encoded() {
        assert_eq!(
            canonical_uri("/contact-flows/i-1/flow%3A%24SAVED"),
            "/contact-flows/i-1/flow%253A%2524SAVED"
        );
        assert_eq!(canonical_uri("/a b/ü"), "/a%20b/%C3%BC");
        assert_eq!(canonical_uri("/keep-_.~/x"), "/keep-_.~/x");
    }

    #[test]
    fn path_normalisation() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("//"), "/");
        assert_eq!(normalize_path("/a//b/./c/../d/"), "/a/b/d/");
        assert_eq!(normalize_path("/a/b"), "/a/b");
        assert_eq!(normalize_path("/../../x"), "/x");
        assert_eq!(normalize_path("/a/.."), "/");
    }

    #[test]
    fn query_canonicalisation() {
        assert_eq!(canonical_query(None), "");
        assert_eq!(canonical_query(Some("")), "");
        assert_eq!(
            canonical_query(Some("b=2&a=1&a=0&c&d=%7e&e=a+b&&f=%zz&g=x=y")),
            "a=0&a=1&b=2&c=&d=~&e=a%2Bb&f=%25zz&g=x%3Dy"
        );
        assert_eq!(
            canonical_query(Some("k=%E2%82%AC&k=%e2%82%ac")),
            "k=%E2%82%AC&k=%E2%82%AC"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut headers = HeaderMap::new();
        headers.append("x-multi", HeaderValue::from_static(" a  1 "));
        headers.append("x-multi", HeaderValue::from_static("b"));
        headers.append("host", HeaderValue::from_static("h"));
        let out = canonical_headers(
            &headers,
            &[
                "host".to_owned(),
                "x-multi".to_owned(),
                "x-absent".to_owned(),
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "host:h\nx-multi:a 1,b\nx-absent:\n"
        );
    }

    #[test]
    fn tampered_body_fails() {
        for v in VECTORS {
            let mut body = v.body.as_bytes().to_vec();
            if body.is_empty() {
                body.push(b'x');
            } else {
                body[0] ^= 0x01;
            }
            let result = verify_parts(
                v.method,
                v.path,
                v.query,
                &header_map(v.headers),
                &body,
                SIGNED_AT,
            );
            assert_invalid_signature(result, v.name);
        }
    }

    #[test]
    fn tampered_path_fails() {
        for v in VECTORS {
            let mut path = v.path.to_owned();
            path.push('x');
            let result = verify_parts(
                v.method,
                &path,
                v.query,
                &header_map(v.headers),
                v.body.as_bytes(),
                SIGNED_AT,
            );
            assert_invalid_signature(result, v.name);
        }
        // Decoding the path before canonicalising (single encoding) must not verify.
        let v = vector("get_flow_saved");
        let decoded = v.path.replace("%3A", ":").replace("%24", "$");
        let result = verify_parts(
            v.method,
            &decoded,
            v.query,
            &header_map(v.headers),
            b"",
            SIGNED_AT,
        );
        assert_invalid_signature(result, "decoded path");
    }

    #[test]
    fn tampered_query_fails() {
        let v = vector("list_flows_query");
        let query = v.query.map(|q| q.replace("maxResults=5", "maxResults=6"));
        let result = verify_parts(
            v.method,
            v.path,
            query.as_deref(),
            &header_map(v.headers),
            b"",
            SIGNED_AT,
        );
        assert_invalid_signature(result, "query");
        // Reordering the query does not matter: it is sorted.
        let reordered = "maxResults=5&contactFlowTypes=AGENT_WHISPER&contactFlowTypes=CONTACT_FLOW";
        verify_parts(
            v.method,
            v.path,
            Some(reordered),
            &header_map(v.headers),
            b"",
            SIGNED_AT,
        )
        .expect("reordered query verifies");
    }

    #[test]
    fn tampered_method_fails() {
        let v = vector("get_flow_saved");
        let result = verify_parts(
            "DELETE",
            v.path,
            v.query,
            &header_map(v.headers),
            b"",
            SIGNED_AT,
        );
        assert_invalid_signature(result, "method");
    }

    #[test]
    fn tampered_signed_header_fails() {
        for v in VECTORS {
            let mut headers = header_map(v.headers);
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .expect("host")
                .to_owned();
            let mut bytes = host.into_bytes();
            bytes[0] ^= 0x01;
            headers.insert("host", HeaderValue::from_bytes(&bytes).expect("value"));
            assert_invalid_signature(verify_vector(v, &headers), v.name);
        }
        let v = vector("put_contact_chat");
        let mut headers = header_map(v.headers);
        headers.insert("content-type", HeaderValue::from_static("application/jsoN"));
        assert_invalid_signature(verify_vector(v, &headers), "content-type");
    }

    #[test]
    fn tampered_signature_fails() {
        for v in VECTORS {
            let mut headers = header_map(v.headers);
            let auth = headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .expect("auth")
                .to_owned();
            let mut bytes = auth.into_bytes();
            let last = bytes.len() - 1;
            bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
            headers.insert(
                "authorization",
                HeaderValue::from_bytes(&bytes).expect("value"),
            );
            assert_invalid_signature(verify_vector(v, &headers), v.name);
        }
    }

    #[test]
    fn truncated_or_non_hex_signature_fails() {
        let v = vector("get_flow_saved");
        for sig in [
            "e300976b",
            "zz",
            "e300976bfc0b55ac253106f4f6d2b0826857a388ab4a799fa227b1463d0f204600",
        ] {
            let mut headers = header_map(v.headers);
            let value = format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
            );
            headers.insert(
                "authorization",
                HeaderValue::from_str(&value).expect("value"),
            );
            assert_invalid_signature(verify_vector(v, &headers), sig);
        }
    }

    #[test]
    fn wrong_secret_fails() {
        let v = vector("put_contact_chat");
        let req = SignedRequest {
            method: v.method,
            raw_path: v.path,
            raw_query: v.query,
            headers: &header_map(v.headers),
            body: v.body.as_bytes(),
        };
        let result = verify(
            &req,
            "connect",
            |_| Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ".to_owned()),
            SIGNED_AT,
            DEFAULT_MAX_SKEW_SECS,
        );
        let err = result.expect_err("wrong secret must fail");
        assert_eq!(err, SigV4Error::SignatureDoesNotMatch);
        assert_eq!(err.code(), "InvalidSignatureException");
        assert_eq!(
            err.message(),
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        );
    }

    #[test]
    fn unknown_access_key_is_unrecognized() {
        let v = vector("put_contact_chat");
        let req = SignedRequest {
            method: v.method,
            raw_path: v.path,
            raw_query: v.query,
            headers: &header_map(v.headers),
            body: v.body.as_bytes(),
        };
        let err = verify(&req, "connect", |_| None, SIGNED_AT, DEFAULT_MAX_SKEW_SECS)
            .expect_err("unknown key");
        assert_eq!(err, SigV4Error::UnrecognizedClient);
        assert_eq!(err.code(), "UnrecognizedClientException");
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.message(),
            "The security token included in the request is invalid."
        );
    }

    #[test]
    fn clock_skew_limits() {
        let v = vector("put_contact_chat");
        let headers = header_map(v.headers);
        let at = |now| verify_parts(v.method, v.path, v.query, &headers, v.body.as_bytes(), now);

        at(SIGNED_AT + 300).expect("exactly 5 minutes later is accepted");
        at(SIGNED_AT - 300).expect("exactly 5 minutes earlier is accepted");

        let err = at(SIGNED_AT + 360).expect_err("6 minutes later is expired");
        assert_eq!(err.code(), "InvalidSignatureException");
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.message(),
            "Signature expired: 20261121T191601Z is now earlier than 20261121T191701Z (20261121T192201Z - 5 min.)"
        );

        let err = at(SIGNED_AT - 360).expect_err("6 minutes earlier is not yet current");
        assert_eq!(err.code(), "InvalidSignatureException");
        assert_eq!(
            err.message(),
            "Signature not yet current: 20261121T191601Z is still later than 20261121T191501Z (20261121T191001Z + 5 min.)"
        );

        // Absurd clocks must not panic or overflow.
        assert!(at(i64::MAX).is_err());
        assert!(at(i64::MIN).is_err());
    }

    #[test]
    fn other_service_in_scope_is_rejected() {
        let v = Vector {
            name: "execute_api_scope",
            method: "GET",
            path: "/contact-flows/i-1/f-1",
            query: None,
            headers: &[
                ("host", "connect.us-east-1.amazonaws.com"),
                ("X-Amz-Date", "20261121T191601Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=6d5f81d3aa3ed678b683cd3996d0aedf8d91602c96206de134be5dd972d06972",
                ),
            ],
            body: "",
            region: "us-east-1",
            canonical_request: "",
            string_to_sign: "",
        };
        let headers = header_map(v.headers);
        let err = verify_vector(&v, &headers).expect_err("execute-api scope");
        assert_eq!(err.code(), "InvalidSignatureException");
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.message(),
            "Credential should be scoped to correct service: 'connect'."
        );
        // The same botocore signature is genuine for execute-api.
        let req = SignedRequest {
            method: v.method,
            raw_path: v.path,
            raw_query: v.query,
            headers: &headers,
            body: b"",
        };
        verify(
            &req,
            "execute-api",
            secrets,
            SIGNED_AT,
            DEFAULT_MAX_SKEW_SECS,
        )
        .expect("valid for its own service");
    }

    #[test]
    fn missing_authorization_header() {
        let v = vector("put_contact_chat");
        let mut headers = header_map(v.headers);
        headers.remove("authorization");
        let err = verify_vector(v, &headers).expect_err("no auth");
        assert_eq!(err, SigV4Error::MissingAuthenticationToken);
        assert_eq!(err.code(), "MissingAuthenticationTokenException");
        assert_eq!(err.status(), 403);
        assert_eq!(err.message(), "Missing Authentication Token");
    }

    fn verify_with_auth_bytes(value: &[u8]) -> Option<Result<VerifiedSigner, SigV4Error>> {
        let v = vector("get_flow_saved");
        let mut headers = header_map(v.headers);
        let value = HeaderValue::from_bytes(value).ok()?;
        headers.insert("authorization", value);
        Some(verify_vector(v, &headers))
    }

    fn assert_incomplete(value: &[u8], needle: &str) {
        let result = verify_with_auth_bytes(value).expect("valid header value");
        let err = result.expect_err("garbage must not verify");
        assert_eq!(
            err.code(),
            "IncompleteSignatureException",
            "{:?}: {err:?}",
            String::from_utf8_lossy(value)
        );
        assert_eq!(err.status(), 400);
        assert!(
            err.message().contains(needle),
            "{:?}: message {:?} lacks {needle:?}",
            String::from_utf8_lossy(value),
            err.message()
        );
    }

    #[test]
    fn garbage_authorization_is_incomplete() {
        assert_incomplete(b"", "cannot be empty");
        assert_incomplete(b"   ", "cannot be empty");
        assert_incomplete(b"AWS4-HMAC-SHA256", "requires 'Credential' parameter");
        assert_incomplete(b"AWS4-HMAC-SHA256 ", "requires 'Signature' parameter");
        assert_incomplete(b"Bearer abc", "Unsupported AWS 'algorithm': 'Bearer'");
        assert_incomplete(
            b"AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request",
            "Unsupported",
        );
        assert_incomplete(b"\xff\xfe\x80 garbage \xc3", "not visible ASCII");
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request",
            "requires 'SignedHeaders' parameter",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect, SignedHeaders=host;x-amz-date, Signature=00",
            "exactly 5 slash-delimited elements",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_requesx, SignedHeaders=host;x-amz-date, Signature=00",
            "valid terminator: 'aws4_request', not 'aws4_requesx'",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            "empty elements",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;;x-amz-date, Signature=00",
            "SignedHeaders",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=A/20261121/us-east-1/connect/aws4_request, Credential=B/20261121/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            "duplicate 'Credential'",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=x-amz-date, Signature=00",
            "'Host' must be a 'SignedHeader'",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request, SignedHeaders=host, Signature=00",
            "'X-Amz-Date' must be a 'SignedHeader'",
        );
        assert_incomplete(
            b"AWS4-HMAC-SHA256 Credential= SignedHeaders= Signature=",
            "requires 'Credential'",
        );
        assert_incomplete(b"AWS4-HMAC-SHA256 ,,,,====,,", "requires 'Credential'");
    }

    /// Deterministic pseudo-random Authorization values (xorshift, no extra
    /// dependency): none may panic, none may verify.
    #[test]
    fn random_authorization_values_never_panic() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: &[u8] = b"AWS4-HMAC-SHA256 Credential=SignedHeaders=Signature=/;,= \taws4_request0123456789abcdefhostx-amz-date\xc3\xa9\xff";
        let mut checked = 0;
        for round in 0..3000 {
            let len = usize::try_from(next() % 200).unwrap_or(0);
            let mut value: Vec<u8> = Vec::with_capacity(len + 16);
            if round % 2 == 0 {
                value.extend_from_slice(b"AWS4-HMAC-SHA256 ");
            }
            for _ in 0..len {
                let i = usize::try_from(next() % alphabet.len() as u64).unwrap_or(0);
                value.push(alphabet[i]);
            }
            if let Some(result) = verify_with_auth_bytes(&value) {
                checked += 1;
                let err = result.expect_err("random header must not verify");
                assert!(
                    matches!(
                        err.code(),
                        "IncompleteSignatureException"
                            | "InvalidSignatureException"
                            | "UnrecognizedClientException"
                    ),
                    "{err:?}"
                );
            }
        }
        assert!(
            checked > 1000,
            "too few values were valid header values: {checked}"
        );
    }

    #[test]
    fn authorization_separator_variants_verify() {
        let v = vector("get_flow_saved");
        let sig = "e300976bfc0b55ac253106f4f6d2b0826857a388ab4a799fa227b1463d0f2046";
        let cred = "AKIDEXAMPLE/20261121/us-east-1/connect/aws4_request";
        for value in [
            format!(
                "AWS4-HMAC-SHA256 Credential={cred},SignedHeaders=host;x-amz-date,Signature={sig}"
            ),
            format!(
                "AWS4-HMAC-SHA256   Credential={cred} ,  SignedHeaders=host;x-amz-date ,Signature={sig}  "
            ),
            format!(
                "AWS4-HMAC-SHA256 Signature={sig}, Credential={cred}, SignedHeaders=host;x-amz-date"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential={cred} SignedHeaders=host;x-amz-date Signature={sig}"
            ),
        ] {
            let mut headers = header_map(v.headers);
            headers.insert(
                "authorization",
                HeaderValue::from_str(&value).expect("value"),
            );
            verify_vector(v, &headers).unwrap_or_else(|e| panic!("{value}: {e:?}"));
        }
    }

    #[test]
    fn unsigned_sdk_headers_are_tolerated() {
        let v = vector("put_contact_chat");
        let mut headers = header_map(v.headers);
        headers.insert(
            "x-amz-user-agent",
            HeaderValue::from_static("aws-sdk-js/2.1 promise"),
        );
        headers.insert(
            "amz-sdk-invocation-id",
            HeaderValue::from_static("7f2e3c1a"),
        );
        headers.insert(
            "amz-sdk-request",
            HeaderValue::from_static("attempt=1; max=3"),
        );
        verify_vector(v, &headers).expect("extra unsigned headers are fine");
    }

    #[test]
    fn content_sha256_header_is_checked() {
        let v = vector("put_contact_chat");
        let real = hex::encode(Sha256::digest(v.body.as_bytes()));
        for ok in [real.as_str(), &real.to_uppercase(), UNSIGNED_PAYLOAD] {
            let mut headers = header_map(v.headers);
            headers.insert(
                "x-amz-content-sha256",
                HeaderValue::from_str(ok).expect("value"),
            );
            verify_vector(v, &headers).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
        }
        let mut headers = header_map(v.headers);
        headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        );
        let err = verify_vector(v, &headers).expect_err("hash of another body");
        assert_eq!(err, SigV4Error::ContentSha256Mismatch);
        assert_eq!(err.code(), "InvalidSignatureException");
    }

    #[test]
    fn date_problems() {
        let v = vector("get_flow_saved");

        let mut headers = header_map(v.headers);
        headers.remove("x-amz-date");
        let err = verify_vector(v, &headers).expect_err("no date");
        assert_eq!(err.code(), "IncompleteSignatureException");
        assert!(
            err.message()
                .contains("either a 'X-Amz-Date' or a 'Date' header")
        );

        for bad in [
            "2026-11-21T19:16:01Z",
            "20261121T191601",
            "20261321T191601Z",
            "20261121T256001Z",
            "yesterday",
        ] {
            let mut headers = header_map(v.headers);
            headers.insert("x-amz-date", HeaderValue::from_str(bad).expect("value"));
            let err = verify_vector(v, &headers).expect_err(bad);
            assert_eq!(err.code(), "IncompleteSignatureException", "{bad}");
            assert!(err.message().contains("ISO-8601 'basic format'"), "{bad}");
        }

        // Scope date differs from the X-Amz-Date date.
        let mut headers = header_map(v.headers);
        headers.insert("x-amz-date", HeaderValue::from_static("20261122T000001Z"));
        let err = verify_vector(v, &headers).expect_err("scope date");
        assert_eq!(err.code(), "InvalidSignatureException");
        assert_eq!(
            err.message(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261121' != '20261122', from '20261122T000001Z'."
        );

        // Date header that does not parse.
        let d = vector("date_header");
        let mut headers = header_map(d.headers);
        headers.insert(
            "date",
            HeaderValue::from_static("Sat, 41 Nov 2026 19:16:01 GMT"),
        );
        let err = verify_vector(d, &headers).expect_err("bad Date");
        assert_eq!(err.code(), "IncompleteSignatureException");
    }

    #[test]
    fn http_date_formats() {
        assert_eq!(
            parse_http_date("Sat, 21 Nov 2026 19:16:01 GMT"),
            Some(SIGNED_AT)
        );
        assert_eq!(
            parse_http_date("Sat, 21 Nov 2026 19:16:01 -0000"),
            Some(SIGNED_AT)
        );
        assert_eq!(
            parse_http_date("21 Nov 2026 20:16:01 +0100"),
            Some(SIGNED_AT)
        );
        assert_eq!(
            parse_http_date("Sat, 21 nov 2026 14:16:01 -0500"),
            Some(SIGNED_AT)
        );
        assert_eq!(parse_http_date("Sat, 21 Nov 2026 19:16:01 CET"), None);
        assert_eq!(parse_http_date("Sat, 21 Foo 2026 19:16:01 GMT"), None);
        assert_eq!(parse_http_date(""), None);
        assert_eq!(parse_basic_iso8601("20261121T191601Z"), Some(SIGNED_AT));
        assert_eq!(
            format_basic_iso8601(SIGNED_AT).as_deref(),
            Some("20261121T191601Z")
        );
        assert_eq!(format_basic_iso8601(i64::MAX), None);
    }

    #[test]
    fn signing_key_matches_aws_documentation_example() {
        // From the AWS SigV4 documentation ("Examples of how to derive a signing key").
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        )
        .expect("key");
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn error_table() {
        let cases = [
            (
                SigV4Error::MissingAuthenticationToken,
                "MissingAuthenticationTokenException",
                403,
            ),
            (
                SigV4Error::IncompleteSignature("x".into()),
                "IncompleteSignatureException",
                400,
            ),
            (
                SigV4Error::UnrecognizedClient,
                "UnrecognizedClientException",
                403,
            ),
            (
                SigV4Error::SignatureDoesNotMatch,
                "InvalidSignatureException",
                403,
            ),
            (
                SigV4Error::ContentSha256Mismatch,
                "InvalidSignatureException",
                403,
            ),
            (
                SigV4Error::WrongService {
                    expected: "connect".into(),
                },
                "InvalidSignatureException",
                403,
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.status(), status);
            assert!(err.to_string().starts_with(code));
        }
    }
}
