//! The customer-360 view an agent sees: what the source knows, and every request of the customer.
//!
//! A source that fails (timeout, error, breaker open) does not fail the view: it answers with the
//! customer's requests, no profile, and `degraded: true`. Only the request history, which is
//! Komek's own data in Redis, can fail it.

use komek_domain::{Email, Msisdn, Request};
use komek_store::{Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::history::{MAX_REQUESTS, RequestSummary, requests_of};
use crate::model::{Contact, Movement, Profile, Service};
use crate::source::{CustomerSource, SourceError};

/// How many charges and how many payments the view shows (the newest).
pub const RECENT_MOVEMENTS: usize = 20;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    /// Absent when the source knows no such customer, or could not answer (`degraded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// The newest charges (at most 20), newest first.
    pub charges: Vec<Movement>,
    /// The newest payments (at most 20), newest first.
    pub payments: Vec<Movement>,
    /// Active services and subscriptions.
    pub services: Vec<Service>,
    /// The customer's requests on every channel (from any of their phone numbers and emails),
    /// newest first, at most 50.
    pub requests: Vec<RequestSummary>,
    /// How many requests the customer has in all.
    pub requests_total: u64,
    /// Where the profile came from: `directory`, `http`, or `none` (no profile).
    #[schema(example = "directory")]
    pub source: &'static str,
    /// The source could not answer (timeout, error, circuit breaker open): the profile is missing
    /// but the requests are complete.
    pub degraded: bool,
    /// Why, when degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_reason: Option<String>,
}

/// The view of the customer with these contacts (phone first, then email; the first found wins).
pub async fn customer_view<S: CustomerSource>(
    source: &S,
    store: &Store,
    contacts: &[Contact],
) -> Result<CustomerView, StoreError> {
    let mut found = None;
    let mut failure: Option<SourceError> = None;
    let mut ordered: Vec<&Contact> = contacts.iter().collect();
    ordered.sort_by_key(|c| matches!(c, Contact::Email(_)));
    for contact in ordered {
        match source.lookup(contact).await {
            Ok(Some(c)) => {
                found = Some(c);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                // The next contact would meet the same outage (and the same timeout).
                failure = Some(e);
                break;
            }
        }
    }
    let mut phones: Vec<Msisdn> = Vec::new();
    let mut emails: Vec<Email> = Vec::new();
    for c in contacts {
        match c {
            Contact::Phone(m) => phones.push(m.clone()),
            Contact::Email(e) => emails.push(e.clone()),
        }
    }
    if let Some(c) = &found {
        phones.push(c.profile.msisdn.clone());
        emails.extend(c.profile.email.clone());
    }
    let history = requests_of(store, &phones, &emails, MAX_REQUESTS).await?;
    let newest = |mut v: Vec<Movement>| {
        v.sort_by_key(|m| std::cmp::Reverse(m.date));
        v.truncate(RECENT_MOVEMENTS);
        v
    };
    let degraded_reason = failure.map(|e| e.to_string());
    Ok(match found {
        Some(c) => CustomerView {
            profile: Some(c.profile),
            charges: newest(c.charges),
            payments: newest(c.payments),
            services: c.services,
            requests: history.requests,
            requests_total: history.total,
            source: source.name(),
            degraded: false,
            degraded_reason: None,
        },
        None => CustomerView {
            profile: None,
            charges: Vec::new(),
            payments: Vec::new(),
            services: Vec::new(),
            requests: history.requests,
            requests_total: history.total,
            source: "none",
            degraded: degraded_reason.is_some(),
            degraded_reason,
        },
    })
}

/// The view of the customer behind `request`, found by its phone number and email.
pub async fn request_customer_view<S: CustomerSource>(
    source: &S,
    store: &Store,
    request: &Request,
) -> Result<CustomerView, StoreError> {
    let mut contacts: Vec<Contact> = Vec::new();
    contacts.extend(request.customer.msisdn.clone().map(Contact::Phone));
    contacts.extend(request.customer.email.clone().map(Contact::Email));
    customer_view(source, store, &contacts).await
}
