//! A customer's message for their request (status page, `POST /api/v1/requests/{number}/messages`).
//!
//! Intake does not change the request: the workspace owns it after creation. Intake checks that
//! the request is the customer's and not closed, and writes the event `request.customer_message`
//! to the outbox on its own; the workspace's consumer appends the message, moves a request that
//! waited for the customer back to `in_progress` (the resolution clock resumes), and reopens a
//! resolved one.

use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::events::{CustomerMessage, Envelope, kind};
use komek_domain::{Channel, Request, RequestNumber, Status};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::antispam;
use crate::api::CustomerQuery;
use crate::lookup::{self, Found};

const MAX_TEXT: usize = 10_000;

/// The body of `POST /api/v1/requests/{number}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// Controls other than newline and tab are removed; then not blank.
    #[schema(format = "loose-text", max_length = 10000)]
    pub text: String,
}

/// The message was accepted; the workspace adds it to the request moments later.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageAccepted {
    pub number: String,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Why a message text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong,
}

impl TextError {
    pub fn message(self) -> &'static str {
        match self {
            TextError::Empty => "must not be empty",
            TextError::TooLong => "at most 10000 characters",
        }
    }
}

/// The text as stored: controls other than newline and tab removed, trimmed, 1-10000 characters.
pub fn text(raw: &str) -> Result<String, TextError> {
    let t: String = raw
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    komek_domain::text::BoundedText::<MAX_TEXT>::parse(&t)
        .map(String::from)
        .map_err(|e| match e {
            komek_domain::text::TextError::Empty => TextError::Empty,
            komek_domain::text::TextError::TooLong { .. } => TextError::TooLong,
            // Controls were removed above: none is left to refuse.
            komek_domain::text::TextError::Control => TextError::Empty,
        })
}

/// The request with this number, if `contact` is one of its customer's. An unknown number and a
/// wrong contact are the same `None`, so nobody learns which numbers exist.
pub async fn find(store: &Store, number: &str, contact: &str) -> Result<Option<Request>, ApiError> {
    let number = number.trim().to_uppercase();
    if number.is_empty()
        || number.len() > 32
        || !number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Ok(None);
    }
    Ok(store
        .request_by_number(&number)
        .await?
        .filter(|r| r.customer.has_contact(contact)))
}

/// Writes `request.customer_message` for `r` to the outbox (in the request's journey trace).
pub async fn send(
    store: &Store,
    r: &Request,
    channel: Channel,
    text: &str,
) -> Result<OffsetDateTime, ApiError> {
    let now = OffsetDateTime::now_utc();
    let payload = CustomerMessage {
        number: RequestNumber(r.number.0.clone()),
        channel,
        text: text.to_owned(),
    };
    let mut event = Envelope::new(kind::REQUEST_CUSTOMER_MESSAGE, r.id, &payload, now);
    {
        let _journey =
            komek_telemetry::journey(kind::REQUEST_CUSTOMER_MESSAGE, r.trace.as_deref()).entered();
        komek_bus::stamp(&mut event);
    }
    store.enqueue_event(&event).await?;
    tracing::info!(request_id = %r.id, number = %r.number, status = %r.status, event_id = %event.id, "customer message accepted");
    Ok(now)
}

/// The request a customer names by `number` and either their status token or their contact
/// ([`lookup`]'s limits apply to both). A token of another request is the same not-found.
pub async fn find_for_customer(
    store: &Store,
    settings: &Settings,
    req: &HttpRequest,
    number: &str,
    contact: Option<&str>,
    token: Option<&str>,
) -> Result<Found, ApiError> {
    match (token, contact) {
        (Some(token), _) => Ok(match lookup::by_token(store, settings, req, token).await? {
            Found::Request(r) if !r.number.0.eq_ignore_ascii_case(number.trim()) => Found::NotFound,
            found => found,
        }),
        (None, Some(contact)) => lookup::by_contact(store, settings, req, number, contact).await,
        (None, None) => Ok(Found::NotFound),
    }
}

/// Add a message to your request.
///
/// The customer names the request with `?token=` (the status token from the acknowledgment) or,
/// as before, `?contact=` (the token wins when both are given; neither is 404). The same 404 as the public
/// status for an unknown number, a wrong contact or a wrong token, and the same limits on failed
/// lookups (429 with Retry-After); 409 when the request is closed. A resolved request is
/// reopened by the message. 202: the workspace adds the message to the request moments later.
#[utoipa::path(
    post, path = "/api/v1/requests/{number}/messages", request_body = MessageIn,
    params(("number" = String, Path, description = "e.g. KM-000123"), CustomerQuery),
    responses(
        (status = 202, body = MessageAccepted),
        (status = 400, body = komek_web::error::Problem),
        (status = 404, body = komek_web::error::Problem), (status = 409, body = komek_web::error::Problem),
        (status = 422, body = komek_web::error::Problem), (status = 429, body = komek_web::error::Problem),
        (status = 503, body = komek_web::error::Problem),
    )
)]
pub async fn post_message(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CustomerQuery>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    StrictJson(body): StrictJson<MessageIn>,
) -> Result<HttpResponse, ApiError> {
    // The token is the customer's secret: with it, the contact is not needed (nor counted).
    // Without either, nothing is named: the same 404 as a wrong one.
    let (contact, token) = (query.contact.as_deref(), query.token.as_deref());
    let r = find_for_customer(&store, &settings, &req, &path, contact, token)
        .await?
        .into_api()?;
    if r.status == Status::Closed {
        return Err(ApiError::Conflict(
            Code::RequestClosed,
            "this request is closed; please make a new request".into(),
        ));
    }
    let t = text(&body.text).map_err(|e| ApiError::invalid("text", e.message()))?;
    if let Some(l) = antispam::by_contact(&store, &settings, &r.customer, antispam::MESSAGE).await?
    {
        return Ok(antispam::problem(l));
    }
    let at = send(&store, &r, Channel::Web, &t).await?;
    Ok(HttpResponse::Accepted().json(MessageAccepted {
        number: r.number.0,
        text: t,
        at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(text("  a\r\nb\u{0}  "), Ok("a\nb".to_owned()));
        assert_eq!(text(" \n "), Err(TextError::Empty));
        assert_eq!(text(&"ә".repeat(10_001)), Err(TextError::TooLong));
        assert!(text(&"ә".repeat(10_000)).is_ok());
    }
}
