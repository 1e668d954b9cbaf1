//! Anti-spam for the customer-facing entry points: fixed-window rate limits counted in Redis
//! (`INCR` + `EXPIRE` on `{p}:rl:{action}:{scope}:{who}:{window}`), per client address and per
//! contact, with the limits of the `[web]` settings (the SMTP listener counts with [`count`] and
//! the limits of `[email]`). The honeypot field of the web form is in [`crate::pages`].

use std::net::IpAddr;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::{HttpResponse, ResponseError};
use komek_domain::Customer;
use komek_settings::Settings;
use komek_store::{Store, StoreError};
use komek_web::ApiError;
use time::OffsetDateTime;

/// New requests: the web form and `POST /api/v1/requests`.
pub const REQUEST: &str = "request";
/// Customer messages: the status page and `POST /api/v1/requests/{number}/messages`.
pub const MESSAGE: &str = "message";
/// `POST /api/v1/requests` per client address (`web.api_per_address`), apart from the form's
/// count: an API client looping over phone numbers stays under every per-contact limit.
pub const API_REQUEST: &str = "api-request";

/// Over a limit: how long until the current window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
}

/// The client's address: the connection's peer, or the last `X-Forwarded-For` entry (the one our
/// own reverse proxy added) when `web.trust_forwarded_for` says a proxy sets it.
pub fn client_address(req: &HttpRequest, settings: &Settings) -> Option<IpAddr> {
    if settings.web.trust_forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
            .and_then(parse_ip);
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.peer_addr().map(|a| a.ip())
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// What an address is counted as: an IPv4 address, or the /64 of an IPv6 one (a host gets a
/// whole /64 and can change addresses inside it at will).
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Counts one hit of `action` for each of `whos` in the current fixed window of `window`; `Some`
/// when any is over `limit`.
pub async fn count(
    store: &Store,
    action: &str,
    scope: &str,
    whos: &[String],
    limit: u64,
    window: Duration,
) -> Result<Option<Limited>, StoreError> {
    let window = window.as_secs().max(1);
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let n = now / window;
    let keys: Vec<String> = whos
        .iter()
        .map(|w| store.keys().rate_limit(action, scope, w, n))
        .collect();
    let counts = store.count_hits(&keys, window).await?;
    if counts.iter().any(|c| *c > limit) {
        tracing::warn!(action, scope, limit, "rate limit reached; refused");
        Ok(Some(Limited {
            retry_after_secs: window - now % window,
        }))
    } else {
        Ok(None)
    }
}

async fn hit(
    store: &Store,
    settings: &Settings,
    action: &str,
    scope: &str,
    whos: &[String],
    limit: u64,
) -> Result<Option<Limited>, ApiError> {
    Ok(count(store, action, scope, whos, limit, settings.web.rate_window).await?)
}

/// Counts one `action` by the client's address; `Some` when it is over `web.per_address`.
pub async fn by_address(
    store: &Store,
    settings: &Settings,
    req: &HttpRequest,
    action: &str,
) -> Result<Option<Limited>, ApiError> {
    let Some(ip) = client_address(req, settings) else {
        return Ok(None);
    };
    let who = [address_key(ip)];
    hit(
        store,
        settings,
        action,
        "addr",
        &who,
        settings.web.per_address,
    )
    .await
}

/// Counts one `action` for each of the customer's contacts (phone number, email); `Some` when
/// any is over `web.per_contact`.
pub async fn by_contact(
    store: &Store,
    settings: &Settings,
    customer: &Customer,
    action: &str,
) -> Result<Option<Limited>, ApiError> {
    let whos: Vec<String> = customer
        .msisdn
        .iter()
        .map(|m| m.as_str().to_owned())
        .chain(customer.email.iter().map(|e| e.as_str().to_owned()))
        .collect();
    hit(
        store,
        settings,
        action,
        "contact",
        &whos,
        settings.web.per_contact,
    )
    .await
}

/// The limits of `POST /api/v1/requests`, for a body that validated (a 422 comes first): per
/// client address (`web.api_per_address`, unless 0), then per contact. A retry with an
/// `Idempotency-Key` already stored is not counted (it creates nothing).
pub async fn api_request(
    store: &Store,
    settings: &Settings,
    req: &HttpRequest,
    customer: &Customer,
    idempotency_key: Option<&str>,
) -> Result<Option<Limited>, ApiError> {
    if let Some(key) = idempotency_key
        && store.idempotency(key).await?.is_some()
    {
        return Ok(None);
    }
    let limit = settings.web.api_per_address;
    if limit > 0
        && let Some(ip) = client_address(req, settings)
        && let Some(l) = hit(
            store,
            settings,
            API_REQUEST,
            "addr",
            &[address_key(ip)],
            limit,
        )
        .await?
    {
        return Ok(Some(l));
    }
    by_contact(store, settings, customer, REQUEST).await
}

impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        ApiError::RateLimited {
            retry_after_secs: l.retry_after_secs,
        }
    }
}

/// 429 `application/problem+json` with `Retry-After`, for the JSON API (the error table's
/// `rate_limited`).
pub fn problem(l: Limited) -> HttpResponse {
    ApiError::from(l).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_key(mapped), "10.1.2.3");
    }

    #[test]
    fn forwarded_addresses_parse_with_or_without_port() {
        assert_eq!(parse_ip("10.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(parse_ip("10.0.0.1:5555"), "10.0.0.1".parse().ok());
        assert_eq!(parse_ip("[::1]:80"), "::1".parse().ok());
        assert_eq!(parse_ip("unknown"), None);
    }
}
