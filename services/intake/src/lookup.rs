//! How a customer finds their request, and what a guesser pays for trying: number + contact
//! (the fallback; request numbers are sequential and a phone number is no secret) and the status
//! token (the secret given with the acknowledgment).
//!
//! Failed lookups are counted in fixed windows (`web.rate_window`) under `rl:lookup:*`: per client
//! address, per request number and per contact. A number + contact lookup takes its hits before
//! the match is tried, so parallel guesses cannot overrun a limit, and gives them back when it
//! matches: the request's own customer is never held back by looking at it. A status token is
//! looked up first; a right one always answers, a wrong one counts against the address.

use actix_web::HttpRequest;
use komek_domain::{Email, Msisdn, Request};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::ApiError;
use time::OffsetDateTime;

use crate::antispam::{self, Limited};
use crate::links;
use crate::messages;

/// The action failed lookups are counted under.
pub const LOOKUP: &str = "lookup";

/// What a lookup found.
#[derive(Debug)]
pub enum Found {
    Request(Box<Request>),
    /// An unknown number, a wrong contact or a wrong token: one answer for all.
    NotFound,
    /// Too many failed lookups: nothing was looked up.
    Limited(Limited),
}

impl Found {
    /// The request, or the API's answer: 404 `not_found` or 429 with Retry-After.
    pub fn into_api(self) -> Result<Request, ApiError> {
        match self {
            Found::Request(r) => Ok(*r),
            Found::NotFound => Err(ApiError::NotFound("request")),
            Found::Limited(l) => Err(l.into()),
        }
    }
}

struct Window {
    secs: u64,
    number: u64,
    retry_after_secs: u64,
}

fn window(settings: &Settings) -> Window {
    let secs = settings.web.rate_window.as_secs().max(1);
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    Window {
        secs,
        number: now / secs,
        retry_after_secs: secs - now % secs,
    }
}

/// The counter of the client's address, with its limit.
fn address_counter(
    store: &Store,
    settings: &Settings,
    req: &HttpRequest,
    w: &Window,
) -> Option<(String, u64)> {
    antispam::client_address(req, settings).map(|ip| {
        (
            store
                .keys()
                .rate_limit(LOOKUP, "addr", &antispam::address_key(ip), w.number),
            settings.web.lookup_failures_per_address,
        )
    })
}

/// A contact as it is counted: the E.164 number or the email as stored; `None` for a contact
/// no request can have (it matches nothing, the address's counter is enough).
fn contact_key(contact: &str) -> Option<String> {
    Msisdn::parse(contact)
        .map(|m| m.as_str().to_owned())
        .or_else(|_| Email::parse(contact).map(|e| e.as_str().to_owned()))
        .ok()
}

/// A request number as it is counted: as [`messages::find`] reads it; `None` when no request can
/// have it.
pub(crate) fn number_key(number: &str) -> Option<String> {
    let n = number.trim().to_uppercase();
    (!n.is_empty() && n.len() <= 32 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then_some(n)
}

/// The request with `number` whose customer has `contact`, counted as above.
pub async fn by_contact(
    store: &Store,
    settings: &Settings,
    req: &HttpRequest,
    number: &str,
    contact: &str,
) -> Result<Found, ApiError> {
    let w = window(settings);
    let k = store.keys();
    let web = &settings.web;
    let counters: Vec<(String, u64)> = address_counter(store, settings, req, &w)
        .into_iter()
        .chain(number_key(number).map(|n| {
            (
                k.rate_limit(LOOKUP, "number", &n, w.number),
                web.lookup_failures_per_number,
            )
        }))
        .chain(contact_key(contact).map(|c| {
            (
                k.rate_limit(LOOKUP, "contact", &c, w.number),
                web.lookup_failures_per_contact,
            )
        }))
        .collect();
    let keys: Vec<String> = counters.iter().map(|(key, _)| key.clone()).collect();
    let counts = store.count_hits(&keys, w.secs).await?;
    let over = counters
        .iter()
        .zip(&counts)
        .any(|((_, limit), count)| count > limit);
    if over {
        // Refused before looking: the attempt is not a failure, and a client held back by its
        // address must not also use up the number's and the contact's allowance.
        store.refund_hits(&keys, w.secs).await?;
        tracing::warn!(limit = "lookup", "too many failed lookups; refused");
        return Ok(Found::Limited(Limited {
            retry_after_secs: w.retry_after_secs,
        }));
    }
    match messages::find(store, number, contact).await? {
        Some(r) => {
            store.refund_hits(&keys, w.secs).await?;
            Ok(Found::Request(Box::new(r)))
        }
        None => Ok(Found::NotFound),
    }
}

/// The request status token `token` opens. A right token always answers; a wrong one counts
/// against the client's address and, past its limit, is answered 429.
pub async fn by_token(
    store: &Store,
    settings: &Settings,
    req: &HttpRequest,
    token: &str,
) -> Result<Found, ApiError> {
    if links::well_formed(token)
        && let Some(r) = store
            .request_by_status_token(&links::status_hash(token))
            .await?
    {
        return Ok(Found::Request(Box::new(r)));
    }
    let w = window(settings);
    let Some((key, limit)) = address_counter(store, settings, req, &w) else {
        return Ok(Found::NotFound);
    };
    let count = store
        .count_hits(std::slice::from_ref(&key), w.secs)
        .await?
        .first()
        .copied()
        .unwrap_or(0);
    if count > limit {
        tracing::warn!(limit = "lookup", "too many failed lookups; refused");
        return Ok(Found::Limited(Limited {
            retry_after_secs: w.retry_after_secs,
        }));
    }
    Ok(Found::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_as_matched() {
        assert_eq!(number_key(" km-000012 ").as_deref(), Some("KM-000012"));
        assert_eq!(number_key("KM 12"), None);
        assert_eq!(number_key(""), None);
        assert_eq!(
            contact_key("8 701 123 45 67").as_deref(),
            Some("+77011234567")
        );
        assert_eq!(
            contact_key(" Olga@Example.kz ").as_deref(),
            Some("olga@example.kz")
        );
        assert_eq!(contact_key("nobody"), None);
    }
}
