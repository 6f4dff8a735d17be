//! How often browsers may start chats through widgets: per client address and per widget, in
//! one-minute windows counted on this node. They keep one page (or one abusive client) from
//! filling the contact center with chats.

use std::collections::HashMap;
use std::sync::Mutex;

/// Windows remembered before the stale ones are dropped.
const PRUNE_ABOVE: usize = 10_000;
const WINDOW_MS: i64 = 60_000;

/// Starts allowed per key and minute.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        RateLimit {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a start for `key` at `now_ms`; `false` when the key used up its minute.
    pub fn allow(&self, key: &str, now_ms: i64) -> bool {
        let window = now_ms.div_euclid(WINDOW_MS);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (started, _)| *started == window);
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
    fn each_key_gets_its_count_per_minute() {
        let limit = RateLimit::new(2);
        assert!(limit.allow("a", 0));
        assert!(limit.allow("a", 10));
        assert!(!limit.allow("a", 20));
        assert!(limit.allow("b", 20), "keys count apart");
        assert!(limit.allow("a", 60_000), "a new minute starts over");
    }
}
