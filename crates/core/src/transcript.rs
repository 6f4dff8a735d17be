//! GetTranscript's paging rules, independent of where items are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Which way a transcript scan walks from its starting point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanDirection {
    /// Towards newer items.
    Forward,
    /// Towards older items.
    Backward,
}

/// Where a scan starts, before it is resolved to a sequence number.
#[derive(Debug, Clone, PartialEq)]
pub enum Anchor {
    /// At the item with this id (inclusive).
    Id(String),
    /// At this instant (epoch ms): the first item at or after it when scanning forward, the last
    /// at or before it when scanning backward.
    Time(i64),
    /// At the item this many places before the newest (0 = the newest).
    MostRecent(u32),
}

/// Default page size when `MaxResults` is absent.
pub const DEFAULT_PAGE_SIZE: u32 = 10;

/// The continuation point of a scan, carried opaquely in `NextToken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Continuation {
    pub direction: ScanDirection,
    /// The sequence number the next page starts at (inclusive).
    pub seq: i64,
}

impl Continuation {
    pub fn encode(&self) -> String {
        let dir = match self.direction {
            ScanDirection::Forward => 'F',
            ScanDirection::Backward => 'B',
        };
        URL_SAFE_NO_PAD.encode(format!("v1.{dir}.{}", self.seq))
    }

    pub fn decode(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split('.');
        if parts.next()? != "v1" {
            return None;
        }
        let direction = match parts.next()? {
            "F" => ScanDirection::Forward,
            "B" => ScanDirection::Backward,
            _ => return None,
        };
        let seq = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Continuation { direction, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_round_trips_and_rejects_garbage() {
        let c = Continuation {
            direction: ScanDirection::Backward,
            seq: 42,
        };
        assert_eq!(Continuation::decode(&c.encode()), Some(c));
        assert_eq!(Continuation::decode("garbage!"), None);
        assert_eq!(
            Continuation::decode(&URL_SAFE_NO_PAD.encode("v1.X.1")),
            None
        );
        assert_eq!(
            Continuation::decode(&URL_SAFE_NO_PAD.encode("v1.F.1.2")),
            None
        );
    }
}
