//! Bearer tokens of the participant service.
//!
//! Tokens are 32 random bytes in base64url. Only their SHA-256 is stored, so a copy of the
//! database does not let anyone join a chat. Each stored token records its kind: a
//! ParticipantToken never works where a ConnectionToken is expected, and the other way round.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// From StartChatContact / CreateParticipant; only opens connections.
    Participant,
    /// From CreateParticipantConnection; authorises every other participant call.
    Connection,
    /// Embedded in a WebSocket URL; only opens a socket, and only for a short while.
    WebSocket,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Participant => "participant",
            TokenKind::Connection => "connection",
            TokenKind::WebSocket => "websocket",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "participant" => Some(TokenKind::Participant),
            "connection" => Some(TokenKind::Connection),
            "websocket" => Some(TokenKind::WebSocket),
            _ => None,
        }
    }
}

/// A stored token: its hash and what it grants.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub hash: String,
    pub kind: TokenKind,
    pub participant_id: String,
    pub contact_id: String,
    /// Epoch milliseconds after which the token is refused; `None` lives as long as the participant.
    pub expires_ms: Option<i64>,
}

/// A fresh random token in its wire form.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing leaves nothing sensible to do: no token may be predictable.
    getrandom::fill(&mut bytes).expect("operating system random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The form a token is stored and looked up in.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Lower-case hex SHA-256, for tokens, request fingerprints and content digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a).len(), 64);
    }
}
