//! The settings as operators write them: the TOML keys and `KOMEK__SECTION__KEY` variables are a
//! contract, so these structs only mirror the files (unknown keys refused). Each one is turned into
//! its typed, checked section by [`crate::Section::from_raw`]; what a key means is documented on
//! the typed field it becomes.

use secrecy::SecretString;
use serde::Deserialize;

use crate::{CustomerSourceKind, EscalationSettings, SeedSettings, ServicePorts, SpikeSettings};

/// Every layer merged, nothing checked yet: [`crate::Settings::try_from`] checks it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    #[serde(default)]
    pub env: String,
    pub http: Http,
    pub services: ServicePorts,
    pub redis: Redis,
    pub amqp: Amqp,
    pub auth: Auth,
    pub telemetry: Telemetry,
    pub requests: Requests,
    pub calendar: Calendar,
    pub deadlines: komek_domain::deadline::DeadlinePolicy,
    pub watcher: Watcher,
    pub routing: Routing,
    pub survey: Survey,
    pub outbox: Outbox,
    pub seed: SeedSettings,
    pub customers: Customers,
    pub web: Web,
    pub sms: Sms,
    pub email: Email,
    pub escalation: EscalationSettings,
    pub spikes: SpikeSettings,
    pub shutdown: Shutdown,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub host: String,
    pub body_limit_bytes: usize,
    pub workers: usize,
    pub keep_alive_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub url: SecretString,
    pub prefix: String,
    pub connect_timeout_ms: u64,
    pub response_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amqp {
    pub url: SecretString,
    pub prefix: String,
    pub delivery_limit: u32,
    pub publish_timeout_ms: u64,
    pub prefetch: u16,
    pub concurrency: u16,
    pub retry_window_ms: u64,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub jwt_key_id: String,
    pub jwt_secret: SecretString,
    #[serde(default = "empty_secret")]
    pub jwt_previous: SecretString,
    pub token_ttl_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    pub log_filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    pub number_prefix: String,
    pub idempotency_ttl_hours: u64,
    pub duplicate_window_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    pub offers: bool,
    pub offer_timeout_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watcher {
    pub interval_ms: u64,
    pub lease_ms: u64,
    pub batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// IANA time zone, e.g. Asia/Almaty.
    pub time_zone: String,
    /// Monday = 1 ... Sunday = 7.
    pub working_days: Vec<u8>,
    /// "HH:MM" local time ("24:00" may close the day).
    pub open: String,
    pub close: String,
    /// "YYYY-MM-DD" local dates with no working hours.
    #[serde(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    pub public_base_url: String,
    pub ttl_hours: i64,
    pub reopen_at_or_below: u8,
    pub link_secret: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shutdown {
    pub drain_delay_secs: u64,
    pub grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbox {
    pub batch: usize,
    pub claim_idle_ms: u64,
    pub block_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    pub public_base_url: String,
    pub trust_forwarded_for: bool,
    pub rate_window_secs: u64,
    pub per_address: u64,
    pub per_contact: u64,
    pub api_per_address: u64,
    pub lookup_failures_per_address: u64,
    pub lookup_failures_per_number: u64,
    pub lookup_failures_per_contact: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customers {
    pub source: CustomerSourceKind,
    #[serde(default)]
    pub http_base_url: String,
    pub timeout_ms: u64,
    pub cache_ttl_secs: u64,
    pub breaker_failures: u32,
    pub breaker_cooldown_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sms {
    pub sendsms_url: String,
    pub username: String,
    pub password: SecretString,
    pub from: String,
    pub inbound_secret: SecretString,
    pub flood_per_minute: u64,
    pub timeout_ms: u64,
    pub allowed_prefixes: String,
    pub daily_per_recipient: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub relay_host: String,
    pub relay_port: u16,
    pub from: String,
    #[serde(default)]
    pub username: String,
    #[serde(default = "empty_secret")]
    pub password: SecretString,
    pub timeout_ms: u64,
    pub smtp_port: u16,
    pub max_bytes: usize,
    pub domain: String,
    pub daily_per_recipient: u64,
    pub rate_window_secs: u64,
    pub per_sender: u64,
    pub per_address: u64,
    pub idle_timeout_secs: u64,
    pub session_timeout_secs: u64,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}
