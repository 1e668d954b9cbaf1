//! The HTTP adapter to the operator's Billing/CRM (its JSON contract: CONTRACT.md).
//!
//! A lookup:
//! 1. reads the Redis cache `{p}:cache:customer:{contact}`; a hit (a customer, or `null` for
//!    "no such customer") is the answer, even while the breaker is open;
//! 2. asks the [`Breaker`]; while it is open the lookup fails at once ([`SourceError::BreakerOpen`]);
//! 3. calls `GET {base_url}/customers/{msisdn}` or `GET {base_url}/customers?email={email}` with a
//!    per-request timeout (connect and answer); 200 with a valid body is a customer, 404 is none,
//!    anything else (timeout, refused connection, other status, a body that breaks the contract)
//!    is a failure that counts towards opening the breaker;
//! 4. caches the answer (customer or none) for `cache_ttl`.
//!
//! A cache that cannot be read or written (Redis away) is logged and skipped: the adapter then
//! works uncached.

use std::time::{Duration, Instant};

use komek_domain::{Email, Msisdn};
use komek_store::Store;
use std::sync::Arc;

use crate::breaker::{Breaker, BreakerState};
use crate::model::{Contact, Customer360};
use crate::source::{CustomerSource, SourceError};

/// How the adapter reaches Billing/CRM (`[customers]` settings).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `http://host:port` (a path prefix is allowed); no trailing slash needed.
    pub base_url: String,
    /// Per request: connecting and receiving the whole answer.
    pub timeout: Duration,
    pub cache_ttl: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
}

/// The largest answer body accepted (a customer with a long history is a few kilobytes).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct HttpSource {
    config: Arc<HttpConfig>,
    client: reqwest::Client,
    breaker: Arc<Breaker>,
    store: Store,
}

impl HttpSource {
    pub fn new(config: HttpConfig, store: Store) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "HTTP client with timeouts failed to build; using the default client");
                reqwest::Client::new()
            });
        let breaker = Arc::new(Breaker::new(
            config.breaker_failures,
            config.breaker_cooldown,
        ));
        Self {
            config: Arc::new(config),
            client,
            breaker,
            store,
        }
    }

    /// The breaker's state now.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state(Instant::now())
    }

    fn url(&self, contact: &Contact) -> Result<reqwest::Url, SourceError> {
        let base = self.config.base_url.trim_end_matches('/');
        let mut url = reqwest::Url::parse(&format!("{base}/customers"))
            .map_err(|e| SourceError::Unavailable(format!("base URL {base:?}: {e}")))?;
        match contact {
            Contact::Phone(m) => {
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.push(m.as_str());
                }
            }
            Contact::Email(e) => {
                url.query_pairs_mut().append_pair("email", e.as_str());
            }
        }
        Ok(url)
    }

    async fn cached(&self, contact: &Contact) -> Option<Option<Customer360>> {
        match self.store.cached_customer(contact.as_str()).await {
            Ok(raw) => raw.and_then(|s| serde_json::from_str(&s).ok()),
            Err(e) => {
                tracing::warn!(error = %e, "customer cache unreadable; asking Billing/CRM");
                None
            }
        }
    }

    async fn remember(&self, contact: &Contact, answer: &Option<Customer360>) {
        let json = serde_json::to_string(answer).unwrap_or_else(|_| "null".to_owned());
        let ttl = self.config.cache_ttl.as_secs();
        if let Err(e) = self
            .store
            .cache_customer(contact.as_str(), &json, ttl)
            .await
        {
            tracing::warn!(error = %e, "customer cache not written");
        }
    }

    /// One call to Billing/CRM, without cache or breaker.
    async fn fetch(&self, contact: &Contact) -> Result<Option<Customer360>, SourceError> {
        let url = self.url(contact)?;
        let resp = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| SourceError::Unavailable(describe(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(SourceError::Unavailable(format!("answered {status}")));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(SourceError::Contract(format!(
                "body over {MAX_BODY_BYTES} bytes"
            )));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| SourceError::Unavailable(describe(&e)))?;
        if body.len() > MAX_BODY_BYTES {
            return Err(SourceError::Contract(format!(
                "body over {MAX_BODY_BYTES} bytes"
            )));
        }
        let customer: Customer360 = serde_json::from_slice(&body)
            .map_err(|e| SourceError::Contract(format!("body: {e}")))?;
        check(contact, customer).map(Some)
    }
}

/// What the contract requires beyond the JSON shape: a valid E.164 number and email, and the
/// customer asked for (the same number, or the same email). Returns the customer with both
/// normalised (`Email` is lower-cased).
fn check(contact: &Contact, mut c: Customer360) -> Result<Customer360, SourceError> {
    let msisdn = Msisdn::parse(c.profile.msisdn.as_str()).map_err(|_| {
        SourceError::Contract(format!(
            "profile.msisdn {:?} is not E.164",
            c.profile.msisdn.as_str()
        ))
    })?;
    let email = match &c.profile.email {
        Some(e) => Some(Email::parse(e.as_str()).map_err(|_| {
            SourceError::Contract(format!("profile.email {:?} is not an email", e.as_str()))
        })?),
        None => None,
    };
    let same = match contact {
        Contact::Phone(m) => *m == msisdn,
        Contact::Email(e) => email.as_ref() == Some(e),
    };
    c.profile.msisdn = msisdn;
    c.profile.email = email;
    if same {
        Ok(c)
    } else {
        Err(SourceError::Contract(format!(
            "asked for {contact}, answered {}",
            c.profile.msisdn.as_str()
        )))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.to_string()
    }
}

impl CustomerSource for HttpSource {
    async fn lookup(&self, contact: &Contact) -> Result<Option<Customer360>, SourceError> {
        if let Some(hit) = self.cached(contact).await {
            return Ok(hit);
        }
        let permit = self.breaker.try_call(Instant::now()).map_err(|_| {
            tracing::debug!(%contact, "Billing/CRM breaker open; not calling");
            SourceError::BreakerOpen
        })?;
        let started = Instant::now();
        match self.fetch(contact).await {
            Ok(answer) => {
                permit.succeeded();
                self.remember(contact, &answer).await;
                Ok(answer)
            }
            Err(e) => {
                permit.failed(Instant::now());
                tracing::warn!(
                    error = %e,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    breaker = ?self.breaker.state(Instant::now()),
                    "Billing/CRM lookup failed"
                );
                Err(e)
            }
        }
    }

    fn name(&self) -> &'static str {
        "http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;
    use komek_domain::Lang;

    fn customer(msisdn: &str, email: Option<&str>) -> Customer360 {
        Customer360 {
            profile: Profile {
                msisdn: serde_json::from_value(serde_json::json!(msisdn)).unwrap(),
                // As a remote system may spell it: not normalised.
                email: email.map(|e| serde_json::from_value(serde_json::json!(e)).unwrap()),
                name: "A".into(),
                language: Lang::Ru,
                segment: String::new(),
                region: String::new(),
                tariff: String::new(),
                balance_tenge: 0,
            },
            charges: vec![],
            payments: vec![],
            services: vec![],
        }
    }

    #[test]
    fn the_answer_must_be_the_customer_asked_for() {
        let phone = Contact::parse("+77011234567").unwrap();
        let mail = Contact::parse("a@x.kz").unwrap();
        assert!(check(&phone, customer("+77011234567", None)).is_ok());
        let found = check(&mail, customer("+7 701 123 45 67", Some("A@X.kz"))).unwrap();
        assert_eq!(found.profile.msisdn.as_str(), "+77011234567");
        assert_eq!(found.profile.email.unwrap().as_str(), "a@x.kz");
        assert!(check(&phone, customer("+77051112233", None)).is_err());
        assert!(check(&phone, customer("77011234567", None)).is_err());
        assert!(check(&mail, customer("+77011234567", None)).is_err());
        assert!(check(&phone, customer("+77011234567", Some("not-mail"))).is_err());
    }
}
