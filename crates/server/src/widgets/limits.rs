//! How often browsers may start chats through widgets: per client address and per widget, in
//! one-minute windows counted on this node. They keep one page (or one abusive client) from
//! filling the contact center with chats.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Windows remembered before the stale ones are dropped.
const PRUNE_ABOVE: usize = 10_000;
const WINDOW_MS: i64 = 60_000;

/// Per key: the window it counts in and its count.
type Counts = HashMap<String, (i64, u32)>;

/// Starts allowed per key and minute.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    /// The counts, and the window they were last pruned in.
    windows: Mutex<(Counts, i64)>,
}

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        RateLimit {
            per_minute,
            windows: Mutex::new((HashMap::new(), i64::MIN)),
        }
    }

    /// Counts a start for `key` at `now_ms`; `false` when the key used up its minute.
    pub fn allow(&self, key: &str, now_ms: i64) -> bool {
        let window = now_ms.div_euclid(WINDOW_MS);
        let mut guard = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (windows, pruned) = &mut *guard;
        // At most once a window, so a flood of keys cannot make every call scan them all.
        if windows.len() > PRUNE_ABOVE && *pruned != window {
            windows.retain(|_, (started, _)| *started == window);
            *pruned = window;
        }
        let entry = windows.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= self.per_minute {
            return false;
        }
        entry.1 += 1;
        true
    }
}

/// The client a start counts against: the peer address, or, when the peer is a trusted
/// reverse proxy, the last address it added to `X-Forwarded-For` that is not itself a trusted
/// proxy. IPv6 clients count by /64, the block one subscriber usually holds.
pub fn client_key(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> String {
    let mut client = peer;
    if let (Some(address), Some(chain)) = (peer, forwarded_for)
        && trusted.contains(&address)
    {
        for hop in chain.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(hop) if trusted.contains(&hop) => continue,
                Ok(hop) => {
                    client = Some(hop);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    match client {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Some(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        None => String::new(),
    }
}

/// The two limits a widget start passes.
#[derive(Debug)]
pub struct StartLimits {
    pub per_client: RateLimit,
    pub per_widget: RateLimit,
}

impl StartLimits {
    pub fn new(per_client: u32, per_widget: u32) -> Self {
        StartLimits {
            per_client: RateLimit::new(per_client),
            per_widget: RateLimit::new(per_widget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_found_behind_trusted_proxies_only() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let peer = Some(proxy);
        assert_eq!(
            client_key(peer, Some("203.0.113.7"), &[proxy]),
            "203.0.113.7"
        );
        // A client cannot choose its address by sending the header itself.
        assert_eq!(
            client_key(peer, Some("198.51.100.1, 203.0.113.7"), &[proxy]),
            "203.0.113.7"
        );
        assert_eq!(client_key(peer, Some("203.0.113.7"), &[]), "127.0.0.1");
        let direct: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(
            client_key(Some(direct), Some("203.0.113.7"), &[proxy]),
            "192.0.2.9"
        );
        assert_eq!(
            client_key(peer, Some("2001:db8:1:2:aaaa::1"), &[proxy]),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_key("::ffff:192.0.2.1".parse().ok(), None, &[]),
            "192.0.2.1"
        );
    }

    #[test]
    fn each_key_gets_its_count_per_minute() {
        let limit = RateLimit::new(2);
        assert!(limit.allow("a", 0));
        assert!(limit.allow("a", 10));
        assert!(!limit.allow("a", 20));
        assert!(limit.allow("b", 20), "keys count apart");
        assert!(limit.allow("a", 60_000), "a new minute starts over");
    }
}
