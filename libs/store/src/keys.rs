//! The key scheme. Everything lives under `{prefix}:`; ARCHITECTURE.md lists the same table.

use komek_domain::RequestId;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Hash {v, json}: one request.
    pub fn request(&self, id: RequestId) -> String {
        format!("{}:req:{id}", self.prefix)
    }
    /// List of JSON history lines of one request.
    pub fn history(&self, id: RequestId) -> String {
        format!("{}:req:{id}:history", self.prefix)
    }
    /// String: request number -> request id.
    pub fn number(&self, number: &str) -> String {
        format!("{}:num:{number}", self.prefix)
    }
    /// Counter behind request numbers.
    pub fn number_seq(&self) -> String {
        format!("{}:seq:number", self.prefix)
    }
    /// String {fingerprint, request_id}: an Idempotency-Key already used.
    pub fn idempotency(&self, key: &str) -> String {
        format!("{}:idem:{key}", self.prefix)
    }
    /// Sorted set: requests waiting for an agent, scored by acceptance time (ms).
    pub fn queue(&self) -> String {
        format!("{}:queue", self.prefix)
    }
    /// Set: requests an agent owns.
    pub fn owned_by(&self, login: &str) -> String {
        format!("{}:owner:{login}", self.prefix)
    }
    /// Stream: events waiting to be published to RabbitMQ.
    pub fn outbox(&self) -> String {
        format!("{}:outbox", self.prefix)
    }
    /// Marker: `consumer` has applied event `event_id`.
    pub fn handled(&self, consumer: &str, event_id: Uuid) -> String {
        format!("{}:handled:{consumer}:{event_id}", self.prefix)
    }
    /// Hash {v, json}: one escalation.
    pub fn escalation(&self, id: Uuid) -> String {
        format!("{}:esc:{id}", self.prefix)
    }
    /// Sorted set: a department's open escalations (its queue), scored by creation time (ms).
    pub fn department_escalations(&self, department: &str) -> String {
        format!("{}:esc:dept:{department}", self.prefix)
    }
    /// Sorted set: a department's answered escalations, scored by answer time (ms).
    pub fn department_answered(&self, department: &str) -> String {
        format!("{}:esc:dept:{department}:answered", self.prefix)
    }
    /// Hash {v, json}: one survey, found by its secret token's hash.
    pub fn survey(&self, token_hash: &str) -> String {
        format!("{}:survey:{token_hash}", self.prefix)
    }
    /// String: request id -> the survey link token (for the public status page).
    pub fn survey_of_request(&self, id: RequestId) -> String {
        format!("{}:survey:req:{id}", self.prefix)
    }
    /// String: one staff member (JSON).
    pub fn user(&self, login: &str) -> String {
        format!("{}:user:{login}", self.prefix)
    }
    /// Hash code -> JSON: departments.
    pub fn departments(&self) -> String {
        format!("{}:departments", self.prefix)
    }
    /// Hash msisdn -> JSON: the built-in customer directory.
    pub fn customers(&self) -> String {
        format!("{}:customers", self.prefix)
    }
    /// Unused key given to the commit script where a slot is empty.
    pub fn none(&self) -> String {
        format!("{}:none", self.prefix)
    }
}
