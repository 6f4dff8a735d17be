//! Chat widgets: a website's chat launcher, as the administrator configured it. A widget names
//! the flow its chats start in, the web origins allowed to start them, the display names and
//! styles the widget shows, and whether the site must prove who the customer is with a signed
//! token (security on), signed with one of the widget's security keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Security keys a widget may have at once: a new one and the one it replaces, so a site can
/// rotate without a moment where its tokens are refused.
pub const MAX_ACTIVE_KEYS: usize = 2;
/// The prefix of attributes the page sets through the snippet's `contactAttributes`: visible
/// to flows and agents, but never mistaken for the site's signed ones.
pub const SNIPPET_ATTRIBUTE_PREFIX: &str = "HostedWidget-";
/// The longest widget name.
pub const MAX_NAME_CHARS: usize = 127;

/// A widget of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Widget {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub config: WidgetConfig,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// What an administrator sets on a widget (stored as one JSON document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WidgetConfig {
    /// The flow each chat starts in (id or ARN, as given).
    pub contact_flow_id: String,
    /// Web origins (`https://shop.example.com`) whose pages may start chats.
    pub allowed_origins: Vec<String>,
    /// Whether a start needs a token signed with one of the widget's keys.
    pub security_enabled: bool,
    #[serde(default)]
    pub display_names: DisplayNames,
    /// Style settings the widget applies (colours, fonts, sizes), passed through as given.
    #[serde(default)]
    pub styles: Map<String, Value>,
}

/// Whose name the widget shows for each side of the chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisplayNames {
    /// The customer's name when the page does not give one (or may not).
    pub customer: String,
    /// Whether the page may name the customer (the snippet's `customerDisplayName`).
    pub customer_from_page: bool,
    /// Shown instead of the agent's own name, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Shown for bot participants, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// Shown for the flow's messages, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

impl Default for DisplayNames {
    fn default() -> Self {
        DisplayNames {
            customer: "Customer".into(),
            customer_from_page: true,
            agent: None,
            bot: None,
            system: None,
        }
    }
}

/// A security key: the shared secret a site signs its widget tokens with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetKey {
    pub id: String,
    pub widget_id: String,
    pub secret: String,
    pub created_ms: i64,
}

/// An origin in the one form browsers send in `Origin`: `scheme://host[:port]`, lower case,
/// without a default port, a path or a trailing slash. `Err` says what is wrong.
pub fn normalize_origin(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| format!("'{text}' is not an origin like https://www.example.com."))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return Err(format!("'{text}' must start with https:// or http://.")),
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) || rest.contains('*') {
        return Err(format!(
            "'{text}' must be a scheme and host only (with a port if needed), without path or wildcard."
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if !rest.chars().all(allowed) {
        return Err(format!("'{text}' has characters no host has."));
    }
    let host = rest.to_ascii_lowercase();
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    Ok(format!("{scheme}://{host}"))
}

impl WidgetConfig {
    /// Whether a page of `origin` (the request's `Origin` header) may use the widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let Ok(origin) = normalize_origin(origin) else {
            return false;
        };
        self.allowed_origins.contains(&origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_in_the_form_browsers_send() {
        assert_eq!(
            normalize_origin("HTTPS://Shop.Example.com:443/").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:5173").unwrap(),
            "http://127.0.0.1:5173"
        );
        assert_eq!(
            normalize_origin("http://localhost:80").unwrap(),
            "http://localhost"
        );
        for bad in [
            "shop.example.com",
            "ftp://shop.example.com",
            "https://",
            "https://shop.example.com/path",
            "https://*.example.com",
            "https://user@shop.example.com",
            "https://shop.example.com?x=1",
            "http://x'-alert(1)-'",
            "http://a\"b",
            "http://a<b",
            "http://ex%61mple.com",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let config = WidgetConfig {
            contact_flow_id: "flow".into(),
            allowed_origins: vec!["https://shop.example.com".into()],
            security_enabled: false,
            display_names: DisplayNames::default(),
            styles: Map::new(),
        };
        assert!(config.allows_origin("https://shop.example.com"));
        assert!(config.allows_origin("https://SHOP.example.com:443"));
        assert!(!config.allows_origin("http://shop.example.com"));
        assert!(!config.allows_origin("https://shop.example.com.evil.test"));
        assert!(!config.allows_origin("null"));
    }
}
