//! What the customer pages' forms do, apart from showing them: the anti-spam checks (rate limits
//! per client address and per contact, the honeypot), validation and acceptance of the request
//! form, and the status page's message. The pages ([`crate::pages`]) only render the outcome.

use actix_web::HttpRequest;
use komek_domain::calendar::Calendar;
use komek_domain::{Channel, Lang, Request, Status};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, FieldError};
use serde::Deserialize;
use uuid::Uuid;

use crate::antispam::{self, Limited};
use crate::intake::{self, CustomerIn, Submission, Valid};
use crate::links;
use crate::lookup::Found;
use crate::messages::{self, TextError};

/// The honeypot: a text field people never see (moved off screen by the stylesheet, hidden from
/// screen readers, skipped by Tab) and form-filling robots fill in.
pub const HONEYPOT: &str = "website";

/// What the request form posts (`application/x-www-form-urlencoded`). A phone number or an
/// email, at least one.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RequestForm {
    /// The page's language (`kk`, `ru`, `en`; another: the browser's).
    pub lang: String,
    /// One line; controls are removed.
    #[schema(max_length = 200)]
    pub name: String,
    #[schema(format = "msisdn-or-blank")]
    pub phone: String,
    #[schema(format = "email-address-or-blank", max_length = 254)]
    pub email: String,
    /// Controls other than newline and tab are removed; then not blank.
    #[schema(required = true, format = "loose-text", max_length = 10000)]
    pub text: String,
    /// The honeypot: people leave it empty (it is off screen); filled in, the form is answered as
    /// accepted and nothing is stored.
    pub website: String,
    /// A random id per form shown, used as the Idempotency-Key: a second click on Send gets the
    /// same request back instead of a second one.
    pub form_id: String,
}

/// How a request form post ended.
#[derive(Debug)]
pub enum Submitted {
    /// Over a rate limit.
    Limited(Limited),
    /// The honeypot was filled in: answered as accepted, nothing stored.
    Honeypot,
    /// The fields to correct.
    Invalid(Vec<FieldError>),
    /// Stored (or the same form seen before); the status page is opened with `status_token`, or
    /// (a form joined to an open request) with the number and `contact`.
    Accepted {
        request: Box<Request>,
        contact: String,
        status_token: Option<String>,
    },
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `POST /form`: the same validation and acceptance as `POST /api/v1/requests` (channel `web`).
pub async fn submit(
    req: &HttpRequest,
    f: &RequestForm,
    lang: Lang,
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
) -> Result<Submitted, ApiError> {
    if let Some(l) = antispam::by_address(store, settings, req, antispam::REQUEST).await? {
        return Ok(Submitted::Limited(l));
    }
    if !f.website.trim().is_empty() {
        let address = antispam::client_address(req, settings)
            .map(antispam::address_key)
            .unwrap_or_default();
        tracing::warn!(%address, "web form honeypot filled in: answered as accepted, stored nothing");
        return Ok(Submitted::Honeypot);
    }
    let submission = Submission {
        channel: Channel::Web,
        customer: CustomerIn {
            msisdn: non_empty(&f.phone),
            email: non_empty(&f.email),
            name: non_empty(&f.name),
        },
        subject: None,
        text: f.text.clone(),
        language: Some(lang),
    };
    let valid = match Valid::try_from(&submission) {
        Ok(valid) => valid,
        Err(ApiError::Invalid(errs)) => return Ok(Submitted::Invalid(errs)),
        Err(e) => return Err(e),
    };
    if let Some(l) =
        antispam::by_contact(store, settings, &valid.customer, antispam::REQUEST).await?
    {
        return Ok(Submitted::Limited(l));
    }
    let key = Uuid::parse_str(f.form_id.trim())
        .ok()
        .map(|id| format!("web-form:{id}"));
    let mut created =
        intake::accept_as(store, settings, calendar, &valid, key.as_deref(), None).await?;
    let mut key = key.as_deref();
    if let Created::KeyReused = created {
        // The same form sent again with other values (back, edit, send): a request of its own.
        created = intake::accept_as(store, settings, calendar, &valid, None, None).await?;
        key = None;
    }
    let status_token = links::status_token_for(store, &created, key).await?;
    let request = match created {
        Created::New(r) | Created::Replayed(r) => r,
        Created::KeyReused => return Err(ApiError::Internal),
    };
    let contact = valid
        .customer
        .msisdn
        .as_ref()
        .map(|m| m.as_str().to_owned())
        .or_else(|| valid.customer.email.as_ref().map(|e| e.as_str().to_owned()))
        .unwrap_or_default();
    Ok(Submitted::Accepted {
        request: Box::new(request),
        contact,
        status_token,
    })
}

/// What the status page's message form posts (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MessageForm {
    /// The page's language.
    pub lang: String,
    /// The request's number (with `contact`).
    pub number: String,
    /// The page was opened with number + contact: the contact.
    pub contact: String,
    /// The page was opened with the status token: the token (then `contact` is empty).
    pub token: String,
    /// Controls other than newline and tab are removed; then not blank.
    #[schema(required = true, format = "loose-text", max_length = 10000)]
    pub text: String,
}

/// How a status page message post ended.
#[derive(Debug)]
pub enum Posted {
    Limited(Limited),
    /// An unknown number, or a contact that is not the request's: the same answer.
    NotFound,
    /// The request is closed: no more messages.
    Closed(Box<Request>),
    /// The text to correct.
    Invalid(Box<Request>, TextError),
    /// Sent to the workspace as `request.customer_message`.
    Sent(Box<Request>),
}

/// `POST /status/message`.
pub async fn post_message(
    req: &HttpRequest,
    f: &MessageForm,
    store: &Store,
    settings: &Settings,
) -> Result<Posted, ApiError> {
    if let Some(l) = antispam::by_address(store, settings, req, antispam::MESSAGE).await? {
        return Ok(Posted::Limited(l));
    }
    let token = non_empty(&f.token);
    let contact = (token.is_none()).then_some(f.contact.as_str());
    let r = match messages::find_for_customer(
        store,
        settings,
        req,
        &f.number,
        contact,
        token.as_deref(),
    )
    .await?
    {
        Found::Request(r) => *r,
        Found::NotFound => return Ok(Posted::NotFound),
        Found::Limited(l) => return Ok(Posted::Limited(l)),
    };
    if r.status == Status::Closed {
        return Ok(Posted::Closed(Box::new(r)));
    }
    let text = match messages::text(&f.text) {
        Ok(text) => text,
        Err(e) => return Ok(Posted::Invalid(Box::new(r), e)),
    };
    if let Some(l) = antispam::by_contact(store, settings, &r.customer, antispam::MESSAGE).await? {
        return Ok(Posted::Limited(l));
    }
    messages::send(store, &r, Channel::Web, &text).await?;
    Ok(Posted::Sent(Box::new(r)))
}
