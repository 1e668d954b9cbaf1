//! Komek's settings: one typed tree shared by every service, loaded in layers and checked at start.
//!
//! Layers, later wins: `config/default.toml`, `config/{KOMEK_ENV}.toml` (optional), then environment
//! variables `KOMEK__SECTION__KEY` (e.g. `KOMEK__REDIS__URL`). The config directory is `KOMEK_CONFIG_DIR`,
//! else the nearest `config/` holding `default.toml` above the working directory.
//!
//! [`Settings::load`] returns every problem at once, one line each naming the setting, so a bad
//! deployment says all that is wrong in one go.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Name of the layer picked by KOMEK_ENV; shown in logs and /readyz.
    #[serde(default)]
    pub env: String,
    pub http: HttpSettings,
    pub services: ServicePorts,
    pub redis: RedisSettings,
    pub amqp: AmqpSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub requests: RequestSettings,
    pub calendar: CalendarSettings,
    pub deadlines: komek_domain::deadline::DeadlinePolicy,
    pub watcher: WatcherSettings,
    pub routing: RoutingSettings,
    pub survey: SurveySettings,
    pub outbox: OutboxSettings,
    pub seed: SeedSettings,
    pub customers: CustomerSettings,
    pub web: WebSettings,
    pub sms: SmsSettings,
    pub email: EmailSettings,
    pub escalation: EscalationSettings,
    pub spikes: SpikeSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub host: String,
    /// Largest accepted request body; bigger bodies get 413.
    pub body_limit_bytes: usize,
    /// actix workers per service; 0 means one per core.
    pub workers: usize,
    /// How long an idle keep-alive connection stays open. Longer than the idle timeout of whatever
    /// sits in front (an ingress, a client's pool), so the client, not the server, closes it: a
    /// server closing it just as the client sends on it loses that request.
    pub keep_alive_secs: u64,
}

/// The port each service listens on; 0 lets the OS pick (tests).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePorts {
    pub intake: u16,
    pub workspace: u16,
    pub escalation: u16,
    pub survey: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Every key Komek writes starts with this; tests use a unique one each.
    pub prefix: String,
    pub connect_timeout_ms: u64,
    pub response_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    pub url: SecretString,
    /// Exchange and queue names start with this; tests use a unique one each.
    pub prefix: String,
    /// Deliveries of one message before it is parked (x-delivery-limit).
    pub delivery_limit: u32,
    pub publish_timeout_ms: u64,
    pub prefetch: u16,
    /// Deliveries a consumer handles at once (at most `prefetch`).
    pub concurrency: u16,
    /// How long a consumer retries a transiently failing event in place before requeueing it.
    pub retry_window_ms: u64,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for the signed tokens every service verifies.
    pub jwt_secret: SecretString,
    pub token_ttl_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); export is off when empty.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// tracing filter, e.g. "info,komek=debug"; RUST_LOG wins when set.
    pub log_filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSettings {
    /// Prefix of the human number, e.g. "KM" gives KM-000123.
    pub number_prefix: String,
    /// How long an Idempotency-Key is remembered.
    pub idempotency_ttl_hours: u64,
    /// The same customer writing the same thing again within this many minutes, on any channel,
    /// joins their open request instead of making a second one (0: off).
    pub duplicate_window_minutes: i64,
}

/// How requests reach agents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// Offer each new request to the best online agent over their live connection.
    pub offers: bool,
    /// An offer not accepted within this goes back to the queue.
    pub offer_timeout_secs: i64,
}

/// The deadline watcher each workspace replica runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatcherSettings {
    /// How often it looks for due warnings and breaches.
    pub interval_ms: u64,
    /// How long a claimed entry is this replica's before another may take it over.
    pub lease_ms: u64,
    /// Entries claimed per look.
    pub batch: usize,
}

/// The business calendar deadlines are counted in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// IANA time zone, e.g. Asia/Almaty.
    pub time_zone: String,
    /// Monday = 1 ... Sunday = 7.
    pub working_days: Vec<u8>,
    /// "HH:MM" local time.
    pub open: String,
    pub close: String,
    /// "YYYY-MM-DD" local dates with no working hours.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl CalendarSettings {
    pub fn calendar(
        &self,
    ) -> Result<komek_domain::calendar::Calendar, komek_domain::calendar::CalendarError> {
        komek_domain::calendar::Calendar::new(
            &self.time_zone,
            &self.working_days,
            &self.open,
            &self.close,
            &self.holidays,
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveySettings {
    /// Public base URL of the survey service, used to build the link sent to the customer.
    pub public_base_url: String,
    pub ttl_hours: i64,
    /// A CSAT at or below this reopens the request.
    pub reopen_at_or_below: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    pub batch: usize,
    /// An outbox entry claimed by a relay that has been silent this long is taken over by another.
    pub claim_idle_ms: u64,
    pub block_ms: u64,
}

/// The customer web pages of intake and their anti-spam limits (fixed windows counted in Redis).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Count the client address from the last `X-Forwarded-For` entry (the one our own reverse
    /// proxy added) instead of the connection's peer; only behind a proxy that sets it.
    pub trust_forwarded_for: bool,
    /// Length of one counting window.
    pub rate_window_secs: u64,
    /// Posts of the web form, and messages from the status page, per client address and window
    /// (each counted apart).
    pub per_address: u64,
    /// New requests (web form and `POST /api/v1/requests`), and customer messages, per phone
    /// number or email and window (each counted apart).
    pub per_contact: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSettings {
    /// Seed departments, demo staff and demo customers at start (idempotent).
    pub demo: bool,
}

/// Where the customer-360 view comes from (`komek-customers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerSourceKind {
    /// The built-in directory in Redis (`{p}:customers`), filled by CSV import and the demo seed.
    Directory,
    /// The operator's Billing/CRM over HTTP (libs/customers/CONTRACT.md).
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSettings {
    /// `directory` or `http`.
    pub source: CustomerSourceKind,
    /// Base URL of the Billing/CRM adapter (`http://crm.internal:8080`); used when `source = "http"`.
    #[serde(default)]
    pub http_base_url: String,
    /// Per-request timeout of the HTTP adapter (connect + answer).
    pub timeout_ms: u64,
    /// How long an HTTP adapter answer (found or not found) is kept in Redis.
    pub cache_ttl_secs: u64,
    /// Consecutive failures that open the circuit breaker (calls then fail fast).
    pub breaker_failures: u32,
    /// How long the breaker stays open before one trial call is let through.
    pub breaker_cooldown_secs: u64,
}

/// The SMS channel through Kannel: inbound from its get-url callback, outbound through sendsms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// Kannel smsbox's sendsms URL, e.g. http://127.0.0.1:13913/cgi-bin/sendsms; empty turns
    /// outbound notifications off (events are acknowledged with a log line, nothing is sent).
    pub sendsms_url: String,
    /// A `sendsms-user` of smsbox.
    pub username: String,
    pub password: SecretString,
    /// Sender shown to the customer (short number or alphanumeric).
    pub from: String,
    /// Kannel's get-url carries it as `secret=`; an inbound call without it is refused (403).
    pub inbound_secret: SecretString,
    /// Inbound SMS accepted from one number per minute; more are refused (429).
    pub flood_per_minute: u64,
    /// Timeout of one sendsms call.
    pub timeout_ms: u64,
}

/// The email channel: inbound mail to intake's SMTP listener, outbound through an SMTP relay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// Host of the SMTP relay outbound mail is handed to; empty turns outbound email off (events
    /// are acknowledged with a log line, nothing is sent), like an empty `sms.sendsms_url`.
    pub relay_host: String,
    pub relay_port: u16,
    /// The sender of every mail, e.g. `Komek <support@komek.kz>`; replies come back to it.
    pub from: String,
    /// Relay login; empty means no authentication (a local relay).
    #[serde(default)]
    pub username: String,
    #[serde(default = "empty_secret")]
    pub password: SecretString,
    /// Timeout of one relay conversation.
    pub timeout_ms: u64,
    /// Port of intake's inbound SMTP listener (on `http.host`); 0 lets the OS pick (logged).
    pub smtp_port: u16,
    /// Largest accepted inbound mail (the whole message); bigger ones get SMTP 552.
    pub max_bytes: usize,
    /// Domain of Message-IDs (`<{request id}@{domain}>`) and of the listener's greeting.
    pub domain: String,
}

/// The departments' side (komek-escalation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettings {
    /// An escalation rejected to another department more often than this is flagged for the
    /// quality team as an inconsistency between departments.
    pub max_bounces: u32,
}

/// Spike detection (komek-escalation; method in ARCHITECTURE.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeSettings {
    pub enabled: bool,
    /// Length of the sliding window new requests are counted in.
    pub window_minutes: u32,
    /// How many past windows make the usual level (96 x 15 min = one day).
    pub baseline_windows: u32,
    /// A window needs at least this many requests to be a spike, however quiet the baseline.
    pub min_count: u64,
    /// ... and at least `factor` times the usual mean ...
    pub factor: f64,
    /// ... and at least the mean plus `sigmas` standard deviations.
    pub sigmas: f64,
    /// Count by the customer's region too (from the customer directory), where it is known.
    pub by_region: bool,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings: cannot find config/default.toml (set KOMEK_CONFIG_DIR)")]
    NoConfigDir,
    #[error("settings: {0}")]
    Load(#[from] config::ConfigError),
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl Settings {
    /// Loads the layers for `KOMEK_ENV` (default "local") and checks them.
    pub fn load() -> Result<Self, SettingsError> {
        let env = std::env::var("KOMEK_ENV").unwrap_or_else(|_| "local".to_owned());
        let dir = config_dir().ok_or(SettingsError::NoConfigDir)?;
        Self::load_from(&dir, &env)
    }

    pub fn load_from(dir: &Path, env: &str) -> Result<Self, SettingsError> {
        let raw = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("KOMEK")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .set_override("env", env)?
            .build()?;
        let settings: Settings = raw.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    /// Every rule the types cannot express; one line per bad setting.
    pub fn check(&self) -> Result<(), SettingsError> {
        let mut bad = Vec::new();
        let mut need = |ok: bool, line: &str| {
            if !ok {
                bad.push(format!("setting {line}"));
            }
        };
        need(
            self.spikes.window_minutes >= 1 && self.spikes.window_minutes <= 1440,
            "spikes.window_minutes: 1 to 1440",
        );
        need(
            self.spikes.baseline_windows >= 2 && self.spikes.baseline_windows <= 10_000,
            "spikes.baseline_windows: 2 to 10000",
        );
        need(self.spikes.min_count >= 1, "spikes.min_count: at least 1");
        need(
            self.spikes.factor >= 1.0 && self.spikes.factor.is_finite(),
            "spikes.factor: at least 1.0",
        );
        need(
            self.spikes.sigmas >= 0.0 && self.spikes.sigmas.is_finite(),
            "spikes.sigmas: 0 or more",
        );
        need(
            self.escalation.max_bounces <= 100,
            "escalation.max_bounces: 0 to 100",
        );
        let redis = self.redis.url.expose_secret();
        need(
            redis.starts_with("redis://") || redis.starts_with("rediss://"),
            "redis.url: must start with redis:// or rediss://",
        );
        need(
            valid_prefix(&self.redis.prefix),
            "redis.prefix: 1-64 letters, digits, '-', '_' or ':'",
        );
        need(
            self.redis.response_timeout_ms >= 100,
            "redis.response_timeout_ms: at least 100",
        );
        let amqp = self.amqp.url.expose_secret();
        need(
            amqp.starts_with("amqp://") || amqp.starts_with("amqps://"),
            "amqp.url: must start with amqp:// or amqps://",
        );
        need(
            valid_prefix(&self.amqp.prefix),
            "amqp.prefix: 1-64 letters, digits, '-', '_' or ':'",
        );
        need(
            self.amqp.delivery_limit >= 1,
            "amqp.delivery_limit: at least 1",
        );
        need(
            self.amqp.publish_timeout_ms >= 100,
            "amqp.publish_timeout_ms: at least 100",
        );
        need(self.amqp.prefetch >= 1, "amqp.prefetch: at least 1");
        need(
            self.amqp.concurrency >= 1 && self.amqp.concurrency <= self.amqp.prefetch,
            "amqp.concurrency: 1 to amqp.prefetch",
        );
        need(
            self.amqp.retry_window_ms <= 600_000,
            "amqp.retry_window_ms: at most 600000",
        );
        need(
            self.amqp.reconnect_min_ms >= 10
                && self.amqp.reconnect_max_ms >= self.amqp.reconnect_min_ms,
            "amqp.reconnect_min_ms/reconnect_max_ms: min at least 10 and max at least min",
        );
        need(
            self.auth.jwt_secret.expose_secret().len() >= 32,
            "auth.jwt_secret: at least 32 characters",
        );
        need(
            self.auth.token_ttl_minutes > 0,
            "auth.token_ttl_minutes: positive",
        );
        need(
            self.http.body_limit_bytes >= 1024,
            "http.body_limit_bytes: at least 1024",
        );
        need(
            (1..=3600).contains(&self.http.keep_alive_secs),
            "http.keep_alive_secs: 1 to 3600",
        );
        need(
            !self.requests.number_prefix.is_empty()
                && self.requests.number_prefix.len() <= 8
                && self
                    .requests
                    .number_prefix
                    .chars()
                    .all(|c| c.is_ascii_uppercase()),
            "requests.number_prefix: 1-8 capital letters A-Z",
        );
        if let Err(e) = self.calendar.calendar() {
            need(false, &format!("calendar: {e}"));
        }
        need(
            self.watcher.interval_ms >= 10,
            "watcher.interval_ms: at least 10",
        );
        need(
            (1..=3600).contains(&self.routing.offer_timeout_secs),
            "routing.offer_timeout_secs: 1 to 3600",
        );
        need(
            self.watcher.lease_ms >= 1000,
            "watcher.lease_ms: at least 1000",
        );
        need(self.watcher.batch >= 1, "watcher.batch: at least 1");
        for line in self.deadlines.problems() {
            need(false, &line);
        }
        need(
            self.requests.idempotency_ttl_hours > 0,
            "requests.idempotency_ttl_hours: positive",
        );
        need(
            (0..=10_080).contains(&self.requests.duplicate_window_minutes),
            "requests.duplicate_window_minutes: 0 (off) to 10080",
        );
        need(
            self.survey.public_base_url.starts_with("http://")
                || self.survey.public_base_url.starts_with("https://"),
            "survey.public_base_url: must be an http(s) URL",
        );
        need(self.survey.ttl_hours > 0, "survey.ttl_hours: positive");
        need(
            (1..=5).contains(&self.survey.reopen_at_or_below),
            "survey.reopen_at_or_below: 1 to 5",
        );
        need(self.outbox.batch >= 1, "outbox.batch: at least 1");
        need(
            self.outbox.claim_idle_ms >= 1000,
            "outbox.claim_idle_ms: at least 1000",
        );
        need(
            self.outbox.block_ms >= 10 && self.outbox.block_ms < self.redis.response_timeout_ms,
            "outbox.block_ms: at least 10 and below redis.response_timeout_ms",
        );
        let c = &self.customers;
        need(
            c.source != CustomerSourceKind::Http || c.http_base_url.starts_with("http://"),
            "customers.http_base_url: an http:// URL when customers.source is \"http\" (TLS is not built in: use an in-cluster address or a TLS-terminating proxy)",
        );
        need(
            (50..=60_000).contains(&c.timeout_ms),
            "customers.timeout_ms: 50 to 60000",
        );
        need(
            (1..=86_400).contains(&c.cache_ttl_secs),
            "customers.cache_ttl_secs: 1 to 86400",
        );
        need(
            (1..=1000).contains(&c.breaker_failures),
            "customers.breaker_failures: 1 to 1000",
        );
        need(
            (1..=3600).contains(&c.breaker_cooldown_secs),
            "customers.breaker_cooldown_secs: 1 to 3600",
        );
        need(
            (1..=86_400).contains(&self.web.rate_window_secs),
            "web.rate_window_secs: 1 to 86400",
        );
        need(self.web.per_address >= 1, "web.per_address: at least 1");
        need(self.web.per_contact >= 1, "web.per_contact: at least 1");
        need(
            self.sms.sendsms_url.is_empty()
                || self.sms.sendsms_url.starts_with("http://")
                || self.sms.sendsms_url.starts_with("https://"),
            "sms.sendsms_url: must be an http(s) URL or empty (outbound SMS off)",
        );
        need(
            self.sms.sendsms_url.is_empty() || !self.sms.username.is_empty(),
            "sms.username: must be set when sms.sendsms_url is",
        );
        need(
            (1..=21).contains(&self.sms.from.chars().count())
                && self
                    .sms
                    .from
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+'),
            "sms.from: 1-21 letters, digits or '+'",
        );
        need(
            self.sms.inbound_secret.expose_secret().len() >= 16,
            "sms.inbound_secret: at least 16 characters",
        );
        need(
            (1..=1000).contains(&self.sms.flood_per_minute),
            "sms.flood_per_minute: 1 to 1000",
        );
        need(
            (100..=60_000).contains(&self.sms.timeout_ms),
            "sms.timeout_ms: 100 to 60000",
        );
        let e = &self.email;
        need(
            e.relay_host.is_empty() || e.relay_port != 0,
            "email.relay_port: 1 to 65535 when email.relay_host is set",
        );
        need(
            e.relay_host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')),
            "email.relay_host: a host name or address, or empty (outbound email off)",
        );
        need(
            valid_mailbox(&e.from),
            "email.from: an address such as `Komek <support@komek.kz>`",
        );
        need(
            e.username.is_empty() || !e.password.expose_secret().is_empty(),
            "email.password: must be set when email.username is",
        );
        need(
            (100..=120_000).contains(&e.timeout_ms),
            "email.timeout_ms: 100 to 120000",
        );
        need(
            (1024..=50 * 1024 * 1024).contains(&e.max_bytes),
            "email.max_bytes: 1024 to 52428800",
        );
        need(
            !e.domain.is_empty()
                && e.domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')),
            "email.domain: letters, digits, '.' or '-'",
        );
        if let Some(ep) = &self.telemetry.otlp_endpoint {
            need(
                ep.is_empty() || ep.starts_with("http://") || ep.starts_with("https://"),
                "telemetry.otlp_endpoint: must be an http(s) URL or empty",
            );
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid(bad))
        }
    }

    /// The OTLP endpoint, if export is on.
    pub fn otlp_endpoint(&self) -> Option<&str> {
        self.telemetry
            .otlp_endpoint
            .as_deref()
            .filter(|s| !s.is_empty())
    }
}

/// `addr@domain` or `Display Name <addr@domain>`, with no line breaks.
fn valid_mailbox(s: &str) -> bool {
    let addr = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(i), Some(rest)) => &rest[i + 1..],
        (None, None) => s.trim(),
        _ => return false,
    };
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '@' | ',' | ';'))
    };
    !s.contains(['\r', '\n'])
        && addr
            .split_once('@')
            .is_some_and(|(l, d)| ok_part(l) && ok_part(d) && (d.contains('.') || d == "localhost"))
}

fn valid_prefix(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}

fn config_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("KOMEK_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let mut here = std::env::current_dir().ok()?;
    loop {
        let candidate = here.join("config");
        if candidate.join("default.toml").is_file() {
            return Some(candidate);
        }
        if !here.pop() {
            return None;
        }
    }
}

/// The directory holding this repository's `config/`, for tests started from any crate.
pub fn repo_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_defaults_load_and_pass_checks() {
        let s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        assert_eq!(s.env, "test");
        assert!(!s.redis.prefix.is_empty());
    }

    #[test]
    fn every_bad_setting_is_named() {
        let mut s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        s.redis.url = SecretString::from("http://nope");
        s.auth.jwt_secret = SecretString::from("short");
        s.survey.reopen_at_or_below = 9;
        s.http.keep_alive_secs = 0;
        let SettingsError::Invalid(lines) = s.check().unwrap_err() else {
            panic!("not Invalid")
        };
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].contains("redis.url"));
        assert!(lines[1].contains("auth.jwt_secret"));
        assert!(lines[2].contains("http.keep_alive_secs"));
        assert!(lines[3].contains("survey.reopen_at_or_below"));
    }

    #[test]
    fn customer_settings_are_checked() {
        let mut s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        assert_eq!(s.customers.source, CustomerSourceKind::Directory);
        s.customers.source = CustomerSourceKind::Http;
        s.customers.http_base_url = "ftp://crm".into();
        s.customers.timeout_ms = 0;
        s.customers.cache_ttl_secs = 0;
        s.customers.breaker_failures = 0;
        s.customers.breaker_cooldown_secs = 0;
        let SettingsError::Invalid(lines) = s.check().unwrap_err() else {
            panic!("not Invalid")
        };
        let named: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("setting customers."))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(
            named,
            [
                "http_base_url",
                "timeout_ms",
                "cache_ttl_secs",
                "breaker_failures",
                "breaker_cooldown_secs"
            ],
            "{lines:?}"
        );
        s.customers.http_base_url = "http://crm.internal:8080".into();
        s.customers.timeout_ms = 2000;
        s.customers.cache_ttl_secs = 300;
        s.customers.breaker_failures = 5;
        s.customers.breaker_cooldown_secs = 30;
        s.check().unwrap();
    }

    #[test]
    fn email_settings_are_checked() {
        let mut s = Settings::load_from(&repo_config_dir(), "test").unwrap();
        s.email.relay_host = "127.0.0.1".into();
        s.email.relay_port = 0;
        s.email.from = "Komek <nobody>".into();
        s.email.username = "u".into();
        s.email.timeout_ms = 1;
        s.email.max_bytes = 1;
        s.email.domain = "a b".into();
        let SettingsError::Invalid(lines) = s.check().unwrap_err() else {
            panic!("not Invalid")
        };
        let named: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("setting email."))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(
            named,
            [
                "relay_port",
                "from",
                "password",
                "timeout_ms",
                "max_bytes",
                "domain"
            ],
            "{lines:?}"
        );
        assert!(valid_mailbox("Komek <support@komek.kz>"));
        assert!(valid_mailbox("support@komek.kz"));
        assert!(!valid_mailbox("Komek <support@komek.kz>\r\nBcc: x@y.kz"));
        assert!(!valid_mailbox("support"));
    }

    #[test]
    fn unknown_setting_is_refused() {
        let dir = std::env::temp_dir().join(format!("komek-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = std::fs::read_to_string(repo_config_dir().join("default.toml")).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            base.replace("[http]", "[http]\nhots = \"x\""),
        )
        .unwrap();
        let err = Settings::load_from(&dir, "none").unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("hots"), "{err}");
    }
}
