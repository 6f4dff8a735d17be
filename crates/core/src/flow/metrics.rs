//! A queue's current metrics as the metric blocks see them: `CheckMetricData` compares one of
//! them, `GetMetricData` loads them all into `$.Metrics`. The caller counts them (see
//! [`Effect::QueueMetrics`](super::Effect::QueueMetrics)); this module only names and shapes
//! them.

use serde_json::{Value, json};

/// The metric types `CheckMetricData` knows (its `MetricType`, a static value).
pub const METRIC_TYPES: [&str; 5] = [
    "NumberOfAgentsAvailable",
    "NumberOfAgentsStaffed",
    "NumberOfAgentsOnline",
    "OldestContactInQueueAgeSeconds",
    "NumberOfContactsInQueue",
];

/// One queue's metrics at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueMetrics {
    pub name: String,
    pub arn: String,
    /// Contacts waiting in the queue, offered to an agent or not.
    pub contacts_in_queue: u64,
    /// How long the oldest waiting contact has waited, in (flow) seconds; 0 when none waits.
    pub oldest_contact_age_seconds: i64,
    /// The expected wait of a contact queued now, in seconds.
    pub estimated_wait_seconds: i64,
    /// The agents whose routing profile serves the queue.
    pub agents: AgentCounts,
}

/// How many of a queue's agents are in each state (an agent may count in several).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentCounts {
    /// In a status other than Offline.
    pub online: u64,
    /// Free to take a contact now.
    pub available: u64,
    /// Online and on a contact, in after-contact work, available or otherwise productive.
    pub staffed: u64,
    pub after_contact_work: u64,
    /// On a contact.
    pub busy: u64,
    /// Missed an offer and not routable until their status changes.
    pub missed: u64,
    /// In a status of the instance's own (a break, lunch…).
    pub non_productive: u64,
}

impl QueueMetrics {
    /// The value of one `CheckMetricData` metric type; `None` for a type it does not know.
    pub fn metric(&self, metric_type: &str) -> Option<i64> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Some(match metric_type {
            "NumberOfAgentsAvailable" => count(self.agents.available),
            "NumberOfAgentsStaffed" => count(self.agents.staffed),
            "NumberOfAgentsOnline" => count(self.agents.online),
            "OldestContactInQueueAgeSeconds" => self.oldest_contact_age_seconds,
            "NumberOfContactsInQueue" => count(self.contacts_in_queue),
            _ => return None,
        })
    }

    /// `$.Metrics` after `GetMetricData`: every value as text, as Connect gives them.
    pub fn flow_value(&self) -> Value {
        let agents = &self.agents;
        let count = |n: u64| json!({"Count": n.to_string()});
        json!({
            "Queue": {
                "Name": self.name,
                "ARN": self.arn,
                "Size": self.contacts_in_queue.to_string(),
                "OldestContactAge": self.oldest_contact_age_seconds.to_string(),
                "EstimatedWaitTime": self.estimated_wait_seconds.to_string(),
            },
            "Agents": {
                "Online": count(agents.online),
                "Available": count(agents.available),
                "Staffed": count(agents.staffed),
                "AfterContactWork": count(agents.after_contact_work),
                "Busy": count(agents.busy),
                "Missed": count(agents.missed),
                "NonProductive": count(agents.non_productive),
            },
        })
    }
}
