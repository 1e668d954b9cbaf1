//! The typed sections services read, each with the rules it checks itself by ([`Section`]).
//! Durations are `Duration`s, URLs [`HttpUrl`]s, the calendar a parsed
//! [`komek_domain::calendar::Calendar`]: nothing a service reads here needs parsing again.

use std::time::Duration;

use komek_domain::calendar::{Calendar, CalendarError};
use komek_domain::deadline::DeadlinePolicy;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::check::{HTTP_S, HttpUrl, Problems, Section, valid_mailbox};
use crate::raw;

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub host: String,
    /// Largest accepted request body; bigger bodies get 413.
    pub body_limit_bytes: usize,
    /// actix workers per service; 0 means one per core.
    pub workers: usize,
    /// How long an idle keep-alive connection stays open (`keep_alive_secs`). Longer than the idle
    /// timeout of whatever sits in front (an ingress, a client's pool), so the client, not the
    /// server, closes it: a server closing it just as the client sends on it loses that request.
    pub keep_alive: Duration,
}

impl Section for HttpSettings {
    type Raw = raw::Http;
    const NAME: &'static str = "http";
    fn from_raw(r: raw::Http, bad: &mut Problems) -> Option<Self> {
        bad.at_least("body_limit_bytes", r.body_limit_bytes, 1024);
        bad.within("keep_alive_secs", r.keep_alive_secs, 1, 3600);
        Some(Self {
            host: r.host,
            body_limit_bytes: r.body_limit_bytes,
            workers: r.workers,
            keep_alive: Duration::from_secs(r.keep_alive_secs),
        })
    }
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

impl Section for ServicePorts {
    type Raw = Self;
    const NAME: &'static str = "services";
    fn from_raw(r: Self, _: &mut Problems) -> Option<Self> {
        Some(r)
    }
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://` or `rediss://`, checked; the client parses the rest.
    pub url: SecretString,
    /// Every key Komek writes starts with this; tests use a unique one each.
    pub prefix: String,
    pub connect_timeout: Duration,
    /// Longest wait for one answer; blocking reads must block for less (`outbox.block_ms`).
    pub response_timeout: Duration,
}

impl Section for RedisSettings {
    type Raw = raw::Redis;
    const NAME: &'static str = "redis";
    fn from_raw(r: raw::Redis, bad: &mut Problems) -> Option<Self> {
        bad.url_scheme(r.url.expose_secret(), "redis");
        bad.prefix(&r.prefix);
        bad.at_least("response_timeout_ms", r.response_timeout_ms, 100);
        Some(Self {
            url: r.url,
            prefix: r.prefix,
            connect_timeout: Duration::from_millis(r.connect_timeout_ms),
            response_timeout: Duration::from_millis(r.response_timeout_ms),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AmqpSettings {
    /// `amqp://` or `amqps://`, checked; the client parses the rest.
    pub url: SecretString,
    /// Exchange and queue names start with this; tests use a unique one each.
    pub prefix: String,
    /// Deliveries of one message before it is parked (x-delivery-limit).
    pub delivery_limit: u32,
    pub publish_timeout: Duration,
    pub prefetch: u16,
    /// Deliveries a consumer handles at once (at most `prefetch`).
    pub concurrency: u16,
    /// How long a consumer retries a transiently failing event in place before requeueing it.
    pub retry_window: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

impl Section for AmqpSettings {
    type Raw = raw::Amqp;
    const NAME: &'static str = "amqp";
    fn from_raw(r: raw::Amqp, bad: &mut Problems) -> Option<Self> {
        bad.url_scheme(r.url.expose_secret(), "amqp");
        bad.prefix(&r.prefix);
        bad.at_least("delivery_limit", r.delivery_limit, 1);
        bad.at_least("publish_timeout_ms", r.publish_timeout_ms, 100);
        bad.at_least("prefetch", r.prefetch, 1);
        bad.need(
            r.concurrency >= 1 && r.concurrency <= r.prefetch,
            "concurrency: 1 to amqp.prefetch",
        );
        bad.need(
            r.retry_window_ms <= 600_000,
            "retry_window_ms: at most 600000",
        );
        bad.need(
            r.reconnect_min_ms >= 10 && r.reconnect_max_ms >= r.reconnect_min_ms,
            "reconnect_min_ms/reconnect_max_ms: min at least 10 and max at least min",
        );
        Some(Self {
            url: r.url,
            prefix: r.prefix,
            delivery_limit: r.delivery_limit,
            publish_timeout: Duration::from_millis(r.publish_timeout_ms),
            prefetch: r.prefetch,
            concurrency: r.concurrency,
            retry_window: Duration::from_millis(r.retry_window_ms),
            reconnect_min: Duration::from_millis(r.reconnect_min_ms),
            reconnect_max: Duration::from_millis(r.reconnect_max_ms),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The `kid` of tokens signed now (`jwt_key_id`): 1-32 of a-z, A-Z, 0-9, `.`, `-`, `_`.
    pub key_id: String,
    /// HMAC key for the signed tokens every service verifies (32+ characters).
    pub jwt_secret: SecretString,
    /// Keys retired from signing but still accepted until the tokens they signed expire
    /// (`jwt_previous`: `kid:secret` pairs separated by commas), so a rotation signs nobody out.
    pub previous: Vec<(String, SecretString)>,
    /// How long a token is valid (`token_ttl_minutes`).
    pub token_ttl: Duration,
}

fn key_id_ok(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl Section for AuthSettings {
    type Raw = raw::Auth;
    const NAME: &'static str = "auth";
    fn from_raw(r: raw::Auth, bad: &mut Problems) -> Option<Self> {
        bad.need(
            key_id_ok(&r.jwt_key_id),
            "jwt_key_id: 1 to 32 of a-z, A-Z, 0-9, '.', '-' and '_'",
        );
        bad.need(
            r.jwt_secret.expose_secret().len() >= 32,
            "jwt_secret: at least 32 characters",
        );
        let mut previous = Vec::new();
        for pair in r
            .jwt_previous
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match pair.split_once(':') {
                Some((id, secret))
                    if key_id_ok(id)
                        && secret.len() >= 32
                        && id != r.jwt_key_id
                        && previous.iter().all(|(seen, _)| seen != id) =>
                {
                    previous.push((id.to_owned(), SecretString::from(secret.to_owned())));
                }
                // The pair may hold a secret: name its position, never echo it.
                _ => bad.need(
                    false,
                    format_args!(
                        "jwt_previous: entry {} must be kid:secret with a distinct key id \
                         (not jwt_key_id) and a secret of 32+ characters",
                        previous.len() + 1
                    ),
                ),
            }
        }
        bad.need(r.token_ttl_minutes > 0, "token_ttl_minutes: positive");
        Some(Self {
            key_id: r.jwt_key_id,
            jwt_secret: r.jwt_secret,
            previous,
            token_ttl: minutes(r.token_ttl_minutes),
        })
    }
}

#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); export is off when none (empty in the file).
    pub otlp_endpoint: Option<HttpUrl>,
    /// tracing filter, e.g. "info,komek=debug"; RUST_LOG wins when set.
    pub log_filter: String,
}

impl Section for TelemetrySettings {
    type Raw = raw::Telemetry;
    const NAME: &'static str = "telemetry";
    fn from_raw(r: raw::Telemetry, bad: &mut Problems) -> Option<Self> {
        let otlp_endpoint = match r.otlp_endpoint.as_deref() {
            None | Some("") => None,
            Some(s) => {
                let url = HttpUrl::parse(s, HTTP_S);
                bad.need(
                    url.is_some(),
                    "otlp_endpoint: must be an http(s) URL or empty",
                );
                Some(url?)
            }
        };
        Some(Self {
            otlp_endpoint,
            log_filter: r.log_filter,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// Prefix of the human number, e.g. "KM" gives KM-000123.
    pub number_prefix: String,
    /// How long an Idempotency-Key is remembered (`idempotency_ttl_hours`).
    pub idempotency_ttl: Duration,
    /// The same customer writing the same thing again within this, on any channel, joins their
    /// open request instead of making a second one; zero turns it off (`duplicate_window_minutes`).
    pub duplicate_window: Duration,
}

impl Section for RequestSettings {
    type Raw = raw::Requests;
    const NAME: &'static str = "requests";
    fn from_raw(r: raw::Requests, bad: &mut Problems) -> Option<Self> {
        let p = &r.number_prefix;
        bad.need(
            !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_uppercase()),
            "number_prefix: 1-8 capital letters A-Z",
        );
        bad.need(
            r.idempotency_ttl_hours > 0,
            "idempotency_ttl_hours: positive",
        );
        bad.need(
            (0..=10_080).contains(&r.duplicate_window_minutes),
            "duplicate_window_minutes: 0 (off) to 10080",
        );
        Some(Self {
            number_prefix: r.number_prefix,
            idempotency_ttl: Duration::from_secs(r.idempotency_ttl_hours.saturating_mul(3600)),
            duplicate_window: minutes(r.duplicate_window_minutes),
        })
    }
}

/// The business calendar deadlines are counted in, parsed once.
impl Section for Calendar {
    type Raw = raw::Calendar;
    const NAME: &'static str = "calendar";
    fn from_raw(r: raw::Calendar, bad: &mut Problems) -> Option<Self> {
        match Calendar::new(
            &r.time_zone,
            &r.working_days,
            &r.open,
            &r.close,
            &r.holidays,
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                let key = match &e {
                    CalendarError::Zone(_) => "time_zone",
                    CalendarError::Time(t) if *t == r.open => "open",
                    CalendarError::Time(_) | CalendarError::Hours => "close",
                    CalendarError::Date(_) => "holidays",
                    CalendarError::NoDays => "working_days",
                };
                bad.need(false, format!("{key}: {e}"));
                None
            }
        }
    }
}

/// The deadline policy checks itself in komek-domain; its lines already name `deadlines.*`.
impl Section for DeadlinePolicy {
    type Raw = Self;
    const NAME: &'static str = "deadlines";
    fn from_raw(r: Self, bad: &mut Problems) -> Option<Self> {
        for line in r.problems() {
            let line = line.strip_prefix("deadlines.").unwrap_or(&line).to_owned();
            bad.need(false, line);
        }
        Some(r)
    }
}

/// The deadline watcher each workspace replica runs.
#[derive(Debug, Clone)]
pub struct WatcherSettings {
    /// How often it looks for due warnings and breaches.
    pub interval: Duration,
    /// How long a claimed entry is this replica's before another may take it over.
    pub lease: Duration,
    /// Entries claimed per look.
    pub batch: usize,
}

impl Section for WatcherSettings {
    type Raw = raw::Watcher;
    const NAME: &'static str = "watcher";
    fn from_raw(r: raw::Watcher, bad: &mut Problems) -> Option<Self> {
        bad.at_least("interval_ms", r.interval_ms, 10);
        bad.at_least("lease_ms", r.lease_ms, 1000);
        bad.at_least("batch", r.batch, 1);
        Some(Self {
            interval: Duration::from_millis(r.interval_ms),
            lease: Duration::from_millis(r.lease_ms),
            batch: r.batch,
        })
    }
}

/// How requests reach agents.
#[derive(Debug, Clone)]
pub struct RoutingSettings {
    /// Offer each new request to the best online agent over their live connection.
    pub offers: bool,
    /// An offer not accepted within this goes back to the queue (1 s to 1 h).
    pub offer_timeout: Duration,
}

impl Section for RoutingSettings {
    type Raw = raw::Routing;
    const NAME: &'static str = "routing";
    fn from_raw(r: raw::Routing, bad: &mut Problems) -> Option<Self> {
        bad.within("offer_timeout_secs", r.offer_timeout_secs, 1, 3600);
        Some(Self {
            offers: r.offers,
            offer_timeout: Duration::from_secs(u64::try_from(r.offer_timeout_secs).unwrap_or(0)),
        })
    }
}

/// The satisfaction survey: its links and how long they work.
#[derive(Debug, Clone)]
pub struct SurveySettings {
    /// Public base URL of the survey service (`public_base_url`); read it through [`Self::link`].
    base_url: HttpUrl,
    /// How long a survey link works (`ttl_hours`).
    pub ttl: Duration,
    /// A CSAT at or below this reopens the request.
    pub reopen_at_or_below: u8,
    /// HMAC key a survey's link token is derived from (`link_secret`, 32+ characters): the token
    /// is computed again whenever a link is shown or sent, so it is never stored.
    link_secret: SecretString,
}

impl SurveySettings {
    /// The link a customer opens for survey `token`: the one place its format is written (the
    /// survey service serves `GET /s/{token}`).
    pub fn link(&self, token: &str) -> String {
        format!("{}/s/{token}", self.base_url.base())
    }

    /// The link token of survey `survey`: base64url(HMAC-SHA256(`link_secret`, survey id)),
    /// 256 bits nobody can compute without the secret.
    pub fn token(&self, survey: uuid::Uuid) -> String {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        // HMAC takes a key of any length; the error case cannot happen.
        let Ok(mut mac) =
            Hmac::<sha2::Sha256>::new_from_slice(self.link_secret.expose_secret().as_bytes())
        else {
            return String::new();
        };
        mac.update(b"komek-survey-link:");
        mac.update(survey.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// For the production check only: the value is never shown.
    pub(crate) fn link_secret(&self) -> &str {
        self.link_secret.expose_secret()
    }

    /// [`Self::link`] of survey `survey`'s [`Self::token`].
    pub fn link_for(&self, survey: uuid::Uuid) -> String {
        self.link(&self.token(survey))
    }
}

impl Section for SurveySettings {
    type Raw = raw::Survey;
    const NAME: &'static str = "survey";
    fn from_raw(r: raw::Survey, bad: &mut Problems) -> Option<Self> {
        let base_url = HttpUrl::parse(&r.public_base_url, HTTP_S);
        bad.need(
            base_url.is_some(),
            "public_base_url: must be an http(s) URL",
        );
        bad.need(r.ttl_hours > 0, "ttl_hours: positive");
        bad.within("reopen_at_or_below", r.reopen_at_or_below, 1, 5);
        bad.need(
            r.link_secret.expose_secret().len() >= 32,
            "link_secret: at least 32 characters",
        );
        Some(Self {
            base_url: base_url?,
            ttl: minutes(r.ttl_hours.saturating_mul(60)),
            reopen_at_or_below: r.reopen_at_or_below,
            link_secret: r.link_secret,
        })
    }
}

#[derive(Debug, Clone)]
pub struct OutboxSettings {
    pub batch: usize,
    /// An outbox entry claimed by a relay that has been silent this long is taken over by another.
    pub claim_idle: Duration,
    /// How long one read of the outbox stream blocks (below `redis.response_timeout`).
    pub block: Duration,
}

impl Section for OutboxSettings {
    type Raw = raw::Outbox;
    const NAME: &'static str = "outbox";
    fn from_raw(r: raw::Outbox, bad: &mut Problems) -> Option<Self> {
        bad.at_least("batch", r.batch, 1);
        bad.at_least("claim_idle_ms", r.claim_idle_ms, 1000);
        // The upper bound (below redis.response_timeout_ms) spans sections: Settings checks it.
        bad.need(
            r.block_ms >= 10,
            "block_ms: at least 10 and below redis.response_timeout_ms",
        );
        Some(Self {
            batch: r.batch,
            claim_idle: Duration::from_millis(r.claim_idle_ms),
            block: Duration::from_millis(r.block_ms),
        })
    }
}

/// What a service does on SIGTERM or SIGINT (`[shutdown]`): answer `/readyz` with 503 while still
/// serving for `drain_delay` (load balancers and Kubernetes endpoints stop sending), then stop
/// accepting and finish in-flight HTTP requests and broker messages and flush the outbox relay
/// within `grace`. The pod's `terminationGracePeriodSeconds` must exceed their sum.
#[derive(Debug, Clone)]
pub struct ShutdownSettings {
    pub drain_delay: Duration,
    pub grace: Duration,
}

impl Section for ShutdownSettings {
    type Raw = raw::Shutdown;
    const NAME: &'static str = "shutdown";
    fn from_raw(r: raw::Shutdown, bad: &mut Problems) -> Option<Self> {
        bad.within("drain_delay_secs", r.drain_delay_secs, 0, 300);
        bad.within("grace_secs", r.grace_secs, 1, 600);
        Some(Self {
            drain_delay: Duration::from_secs(r.drain_delay_secs),
            grace: Duration::from_secs(r.grace_secs),
        })
    }
}

/// The customer web pages of intake and their anti-spam limits (fixed windows counted in Redis).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Public base URL of intake's customer pages (`public_base_url`); read it through
    /// [`Self::status_link`].
    base_url: HttpUrl,
    /// Count the client address from the last `X-Forwarded-For` entry (the one our own reverse
    /// proxy added) instead of the connection's peer; only behind a proxy that sets it.
    pub trust_forwarded_for: bool,
    /// Length of one counting window (`rate_window_secs`, whole seconds).
    pub rate_window: Duration,
    /// Posts of the web form, and messages from the status page, per client address and window
    /// (each counted apart).
    pub per_address: u64,
    /// New requests (web form and `POST /api/v1/requests`), and customer messages, per phone
    /// number or email and window (each counted apart).
    pub per_contact: u64,
    /// `POST /api/v1/requests` per client address and window, whatever the contact (a loop over
    /// phone numbers is cut here); 0 turns it off (trusted integrations, the benchmarks).
    pub api_per_address: u64,
    /// Failed customer lookups (number + contact, or a status token, that match nothing) per
    /// client address and window; past it every lookup from the address is refused (429).
    pub lookup_failures_per_address: u64,
    /// Failed lookups of one request number (whatever the contact) per window: many addresses
    /// guessing the contact of one request.
    pub lookup_failures_per_number: u64,
    /// Failed lookups with one phone number or email (whatever the request number) per window:
    /// many addresses walking the numbers with a known contact.
    pub lookup_failures_per_contact: u64,
}

impl WebSettings {
    /// The status page a customer opens with status token `token`: the one place its format is
    /// written (intake serves `GET /status/t/{token}`).
    pub fn status_link(&self, token: &str) -> String {
        format!("{}/status/t/{token}", self.base_url.base())
    }
}

impl Section for WebSettings {
    type Raw = raw::Web;
    const NAME: &'static str = "web";
    fn from_raw(r: raw::Web, bad: &mut Problems) -> Option<Self> {
        let base_url = HttpUrl::parse(&r.public_base_url, HTTP_S);
        bad.need(
            base_url.is_some(),
            "public_base_url: must be an http(s) URL",
        );
        bad.within("rate_window_secs", r.rate_window_secs, 1, 86_400);
        bad.at_least("per_address", r.per_address, 1);
        bad.at_least("per_contact", r.per_contact, 1);
        bad.at_least(
            "lookup_failures_per_address",
            r.lookup_failures_per_address,
            1,
        );
        bad.at_least(
            "lookup_failures_per_number",
            r.lookup_failures_per_number,
            1,
        );
        bad.at_least(
            "lookup_failures_per_contact",
            r.lookup_failures_per_contact,
            1,
        );
        Some(Self {
            base_url: base_url?,
            trust_forwarded_for: r.trust_forwarded_for,
            rate_window: Duration::from_secs(r.rate_window_secs),
            per_address: r.per_address,
            per_contact: r.per_contact,
            api_per_address: r.api_per_address,
            lookup_failures_per_address: r.lookup_failures_per_address,
            lookup_failures_per_number: r.lookup_failures_per_number,
            lookup_failures_per_contact: r.lookup_failures_per_contact,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSettings {
    /// Seed departments, demo staff and demo customers at start (idempotent).
    pub demo: bool,
}

impl Section for SeedSettings {
    type Raw = Self;
    const NAME: &'static str = "seed";
    fn from_raw(r: Self, _: &mut Problems) -> Option<Self> {
        Some(r)
    }
}

/// What `customers.source` says in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerSourceKind {
    Directory,
    Http,
}

/// Where the customer-360 view comes from (`komek-customers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerSource {
    /// The built-in directory in Redis (`{p}:customers`), filled by CSV import and the demo seed.
    Directory,
    /// The operator's Billing/CRM over HTTP (libs/customers/CONTRACT.md) at this base URL, e.g.
    /// `http://crm.internal:8080` (`http_base_url`; plain http, see the check).
    Http { base_url: HttpUrl },
}

#[derive(Debug, Clone)]
pub struct CustomerSettings {
    pub source: CustomerSource,
    /// Per-request timeout of the HTTP adapter (connect + answer).
    pub timeout: Duration,
    /// How long an HTTP adapter answer (found or not found) is kept in Redis.
    pub cache_ttl: Duration,
    /// Consecutive failures that open the circuit breaker (calls then fail fast).
    pub breaker_failures: u32,
    /// How long the breaker stays open before one trial call is let through.
    pub breaker_cooldown: Duration,
}

impl Section for CustomerSettings {
    type Raw = raw::Customers;
    const NAME: &'static str = "customers";
    fn from_raw(r: raw::Customers, bad: &mut Problems) -> Option<Self> {
        let source = match r.source {
            CustomerSourceKind::Directory => Some(CustomerSource::Directory),
            CustomerSourceKind::Http => {
                let url = HttpUrl::parse(&r.http_base_url, &["http"]);
                bad.need(
                    url.is_some(),
                    "http_base_url: an http:// URL when customers.source is \"http\" (TLS is not built in: use an in-cluster address or a TLS-terminating proxy)",
                );
                url.map(|base_url| CustomerSource::Http { base_url })
            }
        };
        bad.within("timeout_ms", r.timeout_ms, 50, 60_000);
        bad.within("cache_ttl_secs", r.cache_ttl_secs, 1, 86_400);
        bad.within("breaker_failures", r.breaker_failures, 1, 1000);
        bad.within("breaker_cooldown_secs", r.breaker_cooldown_secs, 1, 3600);
        Some(Self {
            source: source?,
            timeout: Duration::from_millis(r.timeout_ms),
            cache_ttl: Duration::from_secs(r.cache_ttl_secs),
            breaker_failures: r.breaker_failures,
            breaker_cooldown: Duration::from_secs(r.breaker_cooldown_secs),
        })
    }
}

/// The SMS channel through Kannel: inbound from its get-url callback, outbound through sendsms.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// Kannel smsbox's sendsms URL, e.g. http://127.0.0.1:13913/cgi-bin/sendsms; none (empty in
    /// the file) turns outbound notifications off (events are acknowledged with a log line).
    pub sendsms_url: Option<HttpUrl>,
    /// A `sendsms-user` of smsbox (set whenever `sendsms_url` is).
    pub username: String,
    pub password: SecretString,
    /// Sender shown to the customer (short number or alphanumeric).
    pub from: String,
    /// Kannel's get-url carries it as `secret=`; an inbound call without it is refused (403).
    pub inbound_secret: SecretString,
    /// Inbound SMS accepted from one number per minute; more are refused (429).
    pub flood_per_minute: u64,
    /// Timeout of one sendsms call.
    pub timeout: Duration,
    /// Number ranges outbound SMS may go to (`allowed_prefixes`: E.164 prefixes separated by
    /// commas, e.g. `+7701`; `+` alone allows every number). Anything else is not sent.
    pub allowed_prefixes: Vec<String>,
    /// Outbound SMS to one number per day (UTC); more are dropped; 0 turns the cap off.
    pub daily_per_recipient: u64,
}

impl SmsSettings {
    /// Whether outbound SMS may go to `msisdn` (E.164, `+` and digits).
    pub fn allows(&self, msisdn: &str) -> bool {
        self.allowed_prefixes.iter().any(|p| msisdn.starts_with(p))
    }
}

/// `+` followed by up to 15 digits.
fn e164_prefix(p: &str) -> bool {
    p.strip_prefix('+')
        .is_some_and(|d| d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit()))
}

impl Section for SmsSettings {
    type Raw = raw::Sms;
    const NAME: &'static str = "sms";
    fn from_raw(r: raw::Sms, bad: &mut Problems) -> Option<Self> {
        let sendsms_url = match r.sendsms_url.as_str() {
            "" => None,
            s => {
                let url = HttpUrl::parse(s, HTTP_S);
                bad.need(
                    url.is_some(),
                    "sendsms_url: must be an http(s) URL or empty (outbound SMS off)",
                );
                Some(url?)
            }
        };
        bad.need(
            sendsms_url.is_none() || !r.username.is_empty(),
            "username: must be set when sms.sendsms_url is",
        );
        bad.need(
            (1..=21).contains(&r.from.chars().count())
                && r.from
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+'),
            "from: 1-21 letters, digits or '+'",
        );
        bad.need(
            r.inbound_secret.expose_secret().len() >= 16,
            "inbound_secret: at least 16 characters",
        );
        bad.within("flood_per_minute", r.flood_per_minute, 1, 1000);
        bad.within("timeout_ms", r.timeout_ms, 100, 60_000);
        let allowed_prefixes: Vec<String> = r
            .allowed_prefixes
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        bad.need(
            !allowed_prefixes.is_empty() && allowed_prefixes.iter().all(|p| e164_prefix(p)),
            "allowed_prefixes: E.164 prefixes such as +7701 separated by commas ('+' allows every number)",
        );
        Some(Self {
            sendsms_url,
            username: r.username,
            password: r.password,
            from: r.from,
            inbound_secret: r.inbound_secret,
            flood_per_minute: r.flood_per_minute,
            timeout: Duration::from_millis(r.timeout_ms),
            allowed_prefixes,
            daily_per_recipient: r.daily_per_recipient,
        })
    }
}

/// The email channel: inbound mail to intake's SMTP listener, outbound through an SMTP relay.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// Host of the SMTP relay outbound mail is handed to; empty turns outbound email off (events
    /// are acknowledged with a log line, nothing is sent), like an empty `sms.sendsms_url`.
    pub relay_host: String,
    pub relay_port: u16,
    /// The sender of every mail, e.g. `Komek <support@komek.kz>`; replies come back to it.
    pub from: String,
    /// Relay login; empty means no authentication (a local relay).
    pub username: String,
    pub password: SecretString,
    /// Timeout of one relay conversation.
    pub timeout: Duration,
    /// Port of intake's inbound SMTP listener (on `http.host`); 0 lets the OS pick (logged).
    pub smtp_port: u16,
    /// Largest accepted inbound mail (the whole message); bigger ones get SMTP 552.
    pub max_bytes: usize,
    /// Domain of Message-IDs (`<{request id}.{thread token}@{domain}>`) and of the listener's
    /// greeting.
    pub domain: String,
    /// Outbound mails to one address per day (UTC); more are dropped; 0 turns the cap off.
    pub daily_per_recipient: u64,
    /// Length of the listener's counting window (`rate_window_secs`).
    pub rate_window: Duration,
    /// Inbound mails per `From:` address and window; over it a 451 (the sender retries later);
    /// 0 turns it off.
    pub per_sender: u64,
    /// Inbound mail transactions (`MAIL FROM`) per connecting address and window; over it a 451;
    /// 0 turns it off.
    pub per_address: u64,
    /// A client silent this long within a command or the message is disconnected (421).
    pub idle_timeout: Duration,
    /// A connection lasting this long in all is disconnected (421), however busy.
    pub session_timeout: Duration,
    /// Connections served at once; one more is answered 421 and closed.
    pub max_connections: usize,
    /// Connections one address may hold at once (so one slow sender cannot take every slot).
    pub max_connections_per_address: usize,
}

impl Section for EmailSettings {
    type Raw = raw::Email;
    const NAME: &'static str = "email";
    fn from_raw(e: raw::Email, bad: &mut Problems) -> Option<Self> {
        bad.need(
            e.relay_host.is_empty() || e.relay_port != 0,
            "relay_port: 1 to 65535 when email.relay_host is set",
        );
        bad.need(
            e.relay_host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')),
            "relay_host: a host name or address, or empty (outbound email off)",
        );
        bad.need(
            valid_mailbox(&e.from),
            "from: an address such as `Komek <support@komek.kz>`",
        );
        bad.need(
            e.username.is_empty() || !e.password.expose_secret().is_empty(),
            "password: must be set when email.username is",
        );
        bad.need(
            (100..=120_000).contains(&e.timeout_ms),
            "timeout_ms: 100 to 120000",
        );
        bad.need(
            (1024..=50 * 1024 * 1024).contains(&e.max_bytes),
            "max_bytes: 1024 to 52428800",
        );
        bad.need(
            !e.domain.is_empty()
                && e.domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')),
            "domain: letters, digits, '.' or '-'",
        );
        bad.within("rate_window_secs", e.rate_window_secs, 1, 86_400);
        bad.within("idle_timeout_secs", e.idle_timeout_secs, 1, 600);
        bad.need(
            (1..=3600).contains(&e.session_timeout_secs)
                && e.session_timeout_secs >= e.idle_timeout_secs,
            "session_timeout_secs: 1 to 3600 and at least email.idle_timeout_secs",
        );
        bad.within("max_connections", e.max_connections, 1, 10_000);
        bad.need(
            (1..=e.max_connections.max(1)).contains(&e.max_connections_per_address),
            "max_connections_per_address: 1 to email.max_connections",
        );
        Some(Self {
            relay_host: e.relay_host,
            relay_port: e.relay_port,
            from: e.from,
            username: e.username,
            password: e.password,
            timeout: Duration::from_millis(e.timeout_ms),
            smtp_port: e.smtp_port,
            max_bytes: e.max_bytes,
            domain: e.domain,
            daily_per_recipient: e.daily_per_recipient,
            rate_window: Duration::from_secs(e.rate_window_secs),
            per_sender: e.per_sender,
            per_address: e.per_address,
            idle_timeout: Duration::from_secs(e.idle_timeout_secs),
            session_timeout: Duration::from_secs(e.session_timeout_secs),
            max_connections: e.max_connections,
            max_connections_per_address: e.max_connections_per_address,
        })
    }
}

/// The departments' side (komek-escalation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettings {
    /// An escalation rejected to another department more often than this is flagged for the
    /// quality team as an inconsistency between departments.
    pub max_bounces: u32,
}

impl Section for EscalationSettings {
    type Raw = Self;
    const NAME: &'static str = "escalation";
    fn from_raw(r: Self, bad: &mut Problems) -> Option<Self> {
        bad.need(r.max_bounces <= 100, "max_bounces: 0 to 100");
        Some(r)
    }
}

/// Spike detection (komek-escalation; method in ARCHITECTURE.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeSettings {
    pub enabled: bool,
    /// Length of the sliding window new requests are counted in (events carry it in minutes).
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

impl Section for SpikeSettings {
    type Raw = Self;
    const NAME: &'static str = "spikes";
    fn from_raw(r: Self, bad: &mut Problems) -> Option<Self> {
        bad.within("window_minutes", r.window_minutes, 1, 1440);
        bad.within("baseline_windows", r.baseline_windows, 2, 10_000);
        bad.at_least("min_count", r.min_count, 1);
        bad.need(
            r.factor >= 1.0 && r.factor.is_finite(),
            "factor: at least 1.0",
        );
        bad.need(r.sigmas >= 0.0 && r.sigmas.is_finite(), "sigmas: 0 or more");
        Some(r)
    }
}

/// `m` minutes; negative counts as none (the checks refuse those first).
fn minutes(m: i64) -> Duration {
    Duration::from_secs(u64::try_from(m).unwrap_or(0).saturating_mul(60))
}
