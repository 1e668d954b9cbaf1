//! The key scheme. Everything lives under `{prefix}:`; ARCHITECTURE.md lists the same table.

use komek_domain::RequestId;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
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
    /// String {fingerprint, request_id}: an idempotency key already used. Keys a client sends
    /// (`Idempotency-Key`) come here as `api:{key}`; the channels' own keys (`sms:{id}`,
    /// `email:{sha256}`, `web-form:{uuid}`) never start with `api:`, so a client cannot claim one.
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
    /// Marker: `consumer` has applied event `event_id` to request `request`, for an event that
    /// changes many requests one commit each (`problem.resolved`).
    pub fn handled_for(&self, consumer: &str, event_id: Uuid, request: RequestId) -> String {
        format!("{}:handled:{consumer}:{event_id}:{request}", self.prefix)
    }
    /// Marker, TTL 7 days: intake's notifier delivered event `event_id` to `recipient`.
    pub fn sent(&self, event_id: Uuid, recipient: &str) -> String {
        format!("{}:sent:{event_id}:{recipient}", self.prefix)
    }
    /// String, TTL a send's timeout and a margin: a delivery of event `event_id` is sending its
    /// message to `recipient` right now (another delivery of the same event waits for its marker).
    pub fn sending(&self, event_id: Uuid, recipient: &str) -> String {
        format!("{}:sending:{event_id}:{recipient}", self.prefix)
    }
    /// Counter with a TTL window: inbound SMS from `msisdn` in the current window (flood limit).
    pub fn sms_flood(&self, msisdn: &str) -> String {
        format!("{}:flood:sms:{msisdn}", self.prefix)
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
    /// Sorted set: escalation deadlines to watch, members `{escalation id}|{breach number}`,
    /// scored by due time (ms). The same claim script as request deadlines works it.
    pub fn esc_deadlines(&self) -> String {
        format!("{}:esc:deadlines", self.prefix)
    }
    /// Sorted set: escalation deadline entries a watcher claimed, scored by lease end (ms).
    pub fn esc_deadlines_claimed(&self) -> String {
        format!("{}:esc:deadlines:claimed", self.prefix)
    }
    /// Sorted set: escalations flagged for bouncing between departments, scored by flag time (ms).
    pub fn esc_flagged(&self) -> String {
        format!("{}:esc:flagged", self.prefix)
    }
    /// Sorted set: a department's escalations that breached a deadline, scored by breach time (ms).
    pub fn department_breached(&self, department: &str) -> String {
        format!("{}:esc:dept:{department}:breached", self.prefix)
    }
    /// Hash {v, json}: one problem record.
    pub fn problem(&self, id: Uuid) -> String {
        format!("{}:problem:{id}", self.prefix)
    }
    /// Set: ids of the requests linked to a problem.
    pub fn problem_requests(&self, id: Uuid) -> String {
        format!("{}:problem:{id}:requests", self.prefix)
    }
    /// String: the problem a request is linked to (one at a time).
    pub fn problem_of(&self, request: RequestId) -> String {
        format!("{}:problem:of:{request}", self.prefix)
    }
    /// String (INCR counter): source of problem numbers.
    pub fn problem_seq(&self) -> String {
        format!("{}:seq:problem", self.prefix)
    }
    /// Sorted set: every problem, scored by creation time (ms).
    pub fn problems(&self) -> String {
        format!("{}:problems", self.prefix)
    }
    /// Sorted set: one department's problems, scored by creation time (ms).
    pub fn department_problems(&self, department: &str) -> String {
        format!("{}:problems:dept:{department}", self.prefix)
    }
    /// String: the open candidate problem of a spike in `category` and `region` (`-` when none is
    /// known); written with `setnx!`, so replicas open one candidate per spike.
    pub fn spike_open(&self, category: &str, region: &str) -> String {
        format!("{}:spike:open:{category}:{region}", self.prefix)
    }
    /// String: set once the window of candidate `problem` has been linked to it; later requests of
    /// its key link only themselves (each event costs the same whatever the burst).
    pub fn spike_backfilled(&self, problem: uuid::Uuid) -> String {
        format!("{}:spike:backfilled:{problem}", self.prefix)
    }
    /// Sorted set: recent new requests of `category` in `region`, scored by creation time (ms).
    pub fn spike_recent(&self, category: &str, region: &str) -> String {
        format!("{}:spike:recent:{category}:{region}", self.prefix)
    }
    /// Hash: window number -> count of new requests of `category` in `region` (the baseline).
    pub fn spike_counts(&self, category: &str, region: &str) -> String {
        format!("{}:spike:counts:{category}:{region}", self.prefix)
    }
    /// Hash {v, json}: one survey, found by its secret token's hash.
    pub fn survey(&self, token_hash: &str) -> String {
        format!("{}:survey:{token_hash}", self.prefix)
    }
    /// String: request id -> its survey's id, from which the link is derived (for the public
    /// status page and the invitation); never the link's token.
    pub fn survey_of_request(&self, id: RequestId) -> String {
        format!("{}:survey:req:{id}", self.prefix)
    }
    /// String: a status token's SHA-256 (hex) -> the request it opens. The token itself (given
    /// once, with the acknowledgment) is stored nowhere.
    pub fn status_token(&self, token_hash: &str) -> String {
        format!("{}:status:{token_hash}", self.prefix)
    }
    /// String: one staff member (JSON).
    pub fn user(&self, login: &str) -> String {
        format!("{}:user:{login}", self.prefix)
    }
    /// Set: every staff login.
    pub fn staff(&self) -> String {
        format!("{}:staff", self.prefix)
    }
    /// Hash code -> JSON: departments.
    pub fn departments(&self) -> String {
        format!("{}:departments", self.prefix)
    }
    /// Hash msisdn -> JSON: the built-in customer directory.
    pub fn customers(&self) -> String {
        format!("{}:customers", self.prefix)
    }
    /// Hash email -> msisdn: the built-in directory's customers found by email.
    pub fn customer_emails(&self) -> String {
        format!("{}:customers:email", self.prefix)
    }
    /// String JSON, TTL `customers.cache_ttl_secs`: what the Billing/CRM HTTP adapter answered for
    /// `contact` (an E.164 number or a lower-cased email); `null` when it knows no such customer.
    pub fn customer_cache(&self, contact: &str) -> String {
        format!("{}:cache:customer:{contact}", self.prefix)
    }
    /// Sorted set: coming deadline warnings and breaches (`{id}|{kind}|{deadline ms}`), scored by fire time (ms).
    pub fn deadlines(&self) -> String {
        format!("{}:deadlines", self.prefix)
    }
    /// Sorted set: deadline entries a watcher has claimed, scored by the end of its lease (ms).
    pub fn deadlines_claimed(&self) -> String {
        format!("{}:deadlines:claimed", self.prefix)
    }
    /// Sorted set: requests that breached a deadline (the supervisors' watch list), scored by breach time (ms).
    pub fn watchlist(&self) -> String {
        format!("{}:watchlist", self.prefix)
    }
    /// Sorted set: waiting requests of one category and language, scored by urgency (priority, then
    /// first-response deadline).
    pub fn skill_queue(&self, category: &str, lang: &str) -> String {
        format!("{}:q:{category}:{lang}", self.prefix)
    }
    /// Sorted set: requests offered to an agent, scored by the offer's expiry (ms).
    pub fn offers(&self) -> String {
        format!("{}:offers", self.prefix)
    }
    /// String: the agent request `id` is offered to.
    pub fn offer(&self, id: RequestId) -> String {
        format!("{}:offer:{id}", self.prefix)
    }
    /// Hash login -> presence (online, away, offline).
    pub fn presence(&self) -> String {
        format!("{}:presence", self.prefix)
    }
    /// Set: logins online that speak `lang` (`any`: every login online).
    pub fn online_speakers(&self, lang: &str) -> String {
        format!("{}:online:{lang}", self.prefix)
    }
    /// Hash template id -> JSON: reply templates.
    pub fn templates(&self) -> String {
        format!("{}:templates", self.prefix)
    }
    /// Set: ids of the shipped templates already seeded once (a deleted one stays deleted).
    pub fn templates_seeded(&self) -> String {
        format!("{}:templates:seeded", self.prefix)
    }
    /// Search index, set: requests whose subject or text has `word` (lower-cased).
    pub fn ix_word(&self, word: &str) -> String {
        format!("{}:ix:w:{word}", self.prefix)
    }
    /// Search index, set: requests from the phone number `msisdn` (E.164).
    pub fn ix_phone(&self, msisdn: &str) -> String {
        format!("{}:ix:phone:{msisdn}", self.prefix)
    }
    /// Search index, set: requests from the email address `email` (lower-cased).
    pub fn ix_email(&self, email: &str) -> String {
        format!("{}:ix:email:{email}", self.prefix)
    }
    /// Search index, set: requests in `status`.
    pub fn ix_status(&self, status: &str) -> String {
        format!("{}:ix:status:{status}", self.prefix)
    }
    /// Search index, set: requests of `category`.
    pub fn ix_category(&self, category: &str) -> String {
        format!("{}:ix:category:{category}", self.prefix)
    }
    /// Search index, set: requests that came in on `channel`.
    pub fn ix_channel(&self, channel: &str) -> String {
        format!("{}:ix:channel:{channel}", self.prefix)
    }
    /// Search index, set: requests `login` owns (open or not).
    pub fn ix_owner(&self, login: &str) -> String {
        format!("{}:ix:owner:{login}", self.prefix)
    }
    /// Search index, sorted set: every request, scored by creation time (ms).
    pub fn ix_created(&self) -> String {
        format!("{}:ix:created", self.prefix)
    }
    /// Search index, set: resolved and closed requests (the ones with a resolution to suggest).
    pub fn ix_resolved(&self) -> String {
        format!("{}:ix:resolved", self.prefix)
    }
    /// Scratch key of one search; deleted in the same transaction that made it.
    pub fn ix_scratch(&self, id: Uuid) -> String {
        format!("{}:ix:tmp:{id}", self.prefix)
    }
    /// Counter, TTL one window: anti-spam hits of `action` (`request`, `message`; `lookup`: failed
    /// customer lookups) by one client address, contact or request number (`scope` = `addr`,
    /// `contact` or `number`) in fixed window number `window`.
    pub fn rate_limit(&self, action: &str, scope: &str, who: &str, window: u64) -> String {
        format!("{}:rl:{action}:{scope}:{who}:{window}", self.prefix)
    }
    /// Hash event id -> rank, TTL two days: the outbound messages on `channel` (`sms`, `email`) to
    /// `recipient` in UTC day `day` (days since 1970), at most the daily cap of them.
    pub fn daily_sent(&self, channel: &str, recipient: &str, day: i64) -> String {
        format!("{}:cap:{channel}:{recipient}:{day}", self.prefix)
    }
    /// Unused key given to the commit script where a slot is empty.
    pub fn none(&self) -> String {
        format!("{}:none", self.prefix)
    }
}
