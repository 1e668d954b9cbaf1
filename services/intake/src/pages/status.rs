//! The status pages: the lookup form, the request as its customer sees it with the conversation
//! (opened with number + contact, or with the status token), and the message form's answer.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use komek_domain::{Lang, Message, MessageKind, Request, Status, ack};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::ApiError;
use komek_web::html::{Chrome, page, url};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use super::{failure, home, page_lang, too_many, unreadable_form};
use crate::links;
use crate::lookup::{self, Found};
use crate::messages::TextError;
use crate::web_form::{self, MessageForm, Posted};
use komek_web::html::parse_form;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct StatusQuery {
    /// `kk`, `ru` or `en`; absent or another: the browser's language.
    pub lang: Option<String>,
    /// The request's number, e.g. `KM-000123`.
    pub number: Option<String>,
    /// The phone number or email the request was made with.
    pub contact: Option<String>,
    /// Set by the redirect after a message was sent.
    pub sent: Option<String>,
}

/// The lookup form; with `not_found`, the one answer for an unknown number and a wrong contact.
#[derive(Template)]
#[template(path = "lookup.html")]
struct Lookup<'a> {
    chrome: Chrome,
    number: &'a str,
    contact: &'a str,
    not_found: bool,
    home: String,
}

fn lookup<'a>(lang: Lang, number: &'a str, contact: &'a str, not_found: bool) -> Lookup<'a> {
    Lookup {
        chrome: Chrome::switchable(lang, komek_i18n::t(lang, "web-status-title"), "/status"),
        number,
        contact,
        not_found,
        home: home(lang),
    }
}

fn not_found(lang: Lang, number: &str, contact: &str) -> HttpResponse {
    page(StatusCode::NOT_FOUND, &lookup(lang, number, contact, true))
}

/// One message of the conversation, as shown.
struct Item {
    class: &'static str,
    who: String,
    iso: String,
    local: String,
    text: String,
}

fn kind_class(k: MessageKind) -> &'static str {
    match k {
        MessageKind::Acknowledgment => "acknowledgment",
        MessageKind::Customer => "customer",
        MessageKind::Reply => "reply",
        MessageKind::Resolution => "resolution",
    }
}

/// Who a message is from, as the customer reads it.
fn kind_key(k: MessageKind) -> &'static str {
    match k {
        MessageKind::Acknowledgment => "web-from-ack",
        MessageKind::Customer => "web-from-customer",
        MessageKind::Reply => "web-from-agent",
        MessageKind::Resolution => "web-from-resolution",
    }
}

/// A status as the customer reads it.
fn status_key(s: Status) -> &'static str {
    match s {
        Status::New => "web-status-received",
        Status::Queued => "web-status-queued",
        Status::Assigned => "web-status-assigned",
        Status::InProgress => "web-status-in-progress",
        Status::WaitingCustomer => "web-status-waiting",
        Status::Escalated => "web-status-escalated",
        Status::Resolved => "web-status-resolved",
        Status::Closed => "web-status-closed",
        Status::Reopened => "web-status-reopened",
    }
}

/// What the message form shows besides the request: a notice, the text being written and its
/// error.
#[derive(Default)]
struct Draft<'a> {
    notice: Option<&'static str>,
    text: &'a str,
    error: Option<&'static str>,
}

/// How the customer opened the page, and how its message form names the request again.
#[derive(Clone, Copy)]
enum Opened<'a> {
    /// `GET /status/view?number=&contact=`: the contact.
    Contact(&'a str),
    /// `GET /status/t/{token}`: the status token.
    Token(&'a str),
}

impl<'a> Opened<'a> {
    fn contact(self) -> &'a str {
        match self {
            Opened::Contact(c) => c,
            Opened::Token(_) => "",
        }
    }

    fn token(self) -> Option<&'a str> {
        match self {
            Opened::Contact(_) => None,
            Opened::Token(t) => Some(t),
        }
    }

    /// The page's own address (the language switch keeps it), `extra` added to its query.
    fn here(self, number: &str, extra: &[(&str, &str)]) -> String {
        match self {
            Opened::Contact(c) => {
                let mut q = vec![("number", number), ("contact", c)];
                q.extend_from_slice(extra);
                url("/status/view", &q)
            }
            Opened::Token(t) => url(&token_path(t), extra),
        }
    }
}

/// The status page of token `token`; only URL-safe characters are kept (a real token has no
/// others, so a pasted-in address cannot carry anything else).
fn token_path(token: &str) -> String {
    let safe: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("/status/t/{safe}")
}

#[derive(Template)]
#[template(path = "view.html")]
struct View<'a> {
    chrome: Chrome,
    number: &'a str,
    contact: &'a str,
    token: Option<&'a str>,
    notice: Option<String>,
    status: String,
    created: String,
    due: String,
    survey: Option<String>,
    items: Vec<Item>,
    closed: bool,
    resolved: bool,
    draft: &'a str,
    error: Option<String>,
    lookup: String,
    home: String,
}

fn view<'a>(
    lang: Lang,
    r: &'a Request,
    opened: Opened<'a>,
    survey: Option<String>,
    draft: &Draft<'a>,
) -> View<'a> {
    let t = |k: &str| komek_i18n::t(lang, k);
    let number = r.number.0.as_str();
    // The customer's own request opens the conversation.
    let opening = Message {
        kind: MessageKind::Customer,
        text: match &r.subject {
            Some(subject) => format!("{subject}\n\n{}", r.text),
            None => r.text.clone(),
        },
        at: r.created_at,
    };
    let items = std::iter::once(&opening)
        .chain(&r.messages)
        .map(|m| Item {
            class: kind_class(m.kind),
            who: t(kind_key(m.kind)),
            iso: m.at.format(&Rfc3339).unwrap_or_default(),
            local: ack::format_local(m.at),
            text: m.text.clone(),
        })
        .collect();
    let here = opened.here(number, &[]);
    View {
        chrome: Chrome::switchable(lang, format!("{} {number}", t("web-request")), &here),
        number,
        contact: opened.contact(),
        token: opened.token(),
        notice: draft.notice.map(t),
        status: t(status_key(r.status)),
        created: ack::format_local(r.created_at),
        due: ack::format_local(r.due.resolution),
        survey,
        items,
        closed: r.status == Status::Closed,
        resolved: r.status == Status::Resolved,
        draft: draft.text,
        error: draft.error.map(t),
        lookup: url("/status", &[("lang", lang.as_str())]),
        home: home(lang),
    }
}

async fn view_page(
    status: StatusCode,
    lang: Lang,
    r: &Request,
    opened: Opened<'_>,
    draft: &Draft<'_>,
    store: &Store,
    settings: &Settings,
) -> Result<HttpResponse, ApiError> {
    let survey = links::survey_url(store, settings, r).await?;
    Ok(page(status, &view(lang, r, opened, survey, draft)))
}

/// The conversation of what a lookup found; the lookup form (404) or the too-many page (429)
/// otherwise.
async fn found_page(
    found: Found,
    lang: Lang,
    opened: Opened<'_>,
    number: &str,
    sent: bool,
    store: &Store,
    settings: &Settings,
) -> Result<HttpResponse, ApiError> {
    let r = match found {
        Found::Request(r) => r,
        Found::NotFound => return Ok(not_found(lang, number, opened.contact())),
        Found::Limited(l) => return Ok(too_many(lang, l)),
    };
    let draft = Draft {
        notice: sent.then_some("web-sent"),
        ..Draft::default()
    };
    view_page(StatusCode::OK, lang, &r, opened, &draft, store, settings).await
}

/// `GET /status`: the lookup form.
#[utoipa::path(get, path = "/status", tag = "pages", params(StatusQuery),
    responses((status = 200, description = "The lookup form", content_type = "text/html")))]
pub async fn status_page(req: HttpRequest, q: web::Query<StatusQuery>) -> HttpResponse {
    let lang = page_lang(&req, q.lang.as_deref());
    page(
        StatusCode::OK,
        &lookup(
            lang,
            q.number.as_deref().unwrap_or(""),
            q.contact.as_deref().unwrap_or(""),
            false,
        ),
    )
}

/// `GET /status/view?number=&contact=`: the request as its customer sees it (the fallback, with
/// the limits on failed lookups: 429 past one).
#[utoipa::path(get, path = "/status/view", tag = "pages", params(StatusQuery),
    responses((status = 200, description = "The request and its conversation", content_type = "text/html"),
        (status = 404, description = "The lookup form again: an unknown number and a wrong contact alike", content_type = "text/html"),
        (status = 429, description = "Too many failed lookups", content_type = "text/html")))]
pub async fn status_view(
    req: HttpRequest,
    q: web::Query<StatusQuery>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    let lang = page_lang(&req, q.lang.as_deref());
    let number = q.number.as_deref().unwrap_or("");
    let contact = q.contact.as_deref().unwrap_or("");
    let shown = async {
        let found = lookup::by_contact(&store, &settings, &req, number, contact).await?;
        let opened = Opened::Contact(contact);
        found_page(
            found,
            lang,
            opened,
            number,
            q.sent.is_some(),
            &store,
            &settings,
        )
        .await
    };
    match shown.await {
        Ok(res) => res,
        Err(e) => failure(lang, &e),
    }
}

/// `GET /status/t/{token}`: the request its status token opens (the link given with the
/// acknowledgment). A wrong token gets the lookup form (404) and counts as a failed lookup.
#[utoipa::path(get, path = "/status/t/{token}", tag = "pages",
    params(("token" = String, Path, description = "`status_token` from the acknowledgment"), StatusQuery),
    responses((status = 200, description = "The request and its conversation", content_type = "text/html"),
        (status = 404, description = "The lookup form: a wrong token", content_type = "text/html"),
        (status = 429, description = "Too many failed lookups", content_type = "text/html")))]
pub async fn status_by_token(
    req: HttpRequest,
    token: web::Path<String>,
    q: web::Query<StatusQuery>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    let lang = page_lang(&req, q.lang.as_deref());
    let shown = async {
        let found = lookup::by_token(&store, &settings, &req, &token).await?;
        let opened = Opened::Token(&token);
        found_page(found, lang, opened, "", q.sent.is_some(), &store, &settings).await
    };
    match shown.await {
        Ok(res) => res,
        Err(e) => failure(lang, &e),
    }
}

/// `POST /status/message`: the message goes to the workspace as `request.customer_message`;
/// the answer redirects (303) to the status page, which says it was sent.
#[utoipa::path(post, path = "/status/message", tag = "pages",
    request_body(content = crate::web_form::MessageForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Sent: back to the status page, which says so"),
        (status = 404, description = "An unknown number, a wrong contact or token", content_type = "text/html"),
        (status = 409, description = "The request is closed", content_type = "text/html"),
        (status = 422, description = "The page again, saying what to correct", content_type = "text/html"),
        (status = 429, description = "Too many messages", content_type = "text/html")))]
pub async fn post_message(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    let Some(f) = parse_form::<MessageForm>(&req, &body) else {
        return unreadable_form(&req);
    };
    let lang = page_lang(&req, Some(&f.lang));
    let opened = if f.token.trim().is_empty() {
        Opened::Contact(&f.contact)
    } else {
        Opened::Token(f.token.trim())
    };
    let answered = async {
        // A closed request or a message that cannot be sent shows the page again, with why.
        let (status, r, draft) = match web_form::post_message(&req, &f, &store, &settings).await? {
            Posted::Limited(l) => return Ok(too_many(lang, l)),
            Posted::NotFound => return Ok(not_found(lang, &f.number, &f.contact)),
            Posted::Closed(r) => (StatusCode::CONFLICT, r, Draft::default()),
            Posted::Invalid(r, e) => {
                let draft = Draft {
                    notice: None,
                    text: &f.text,
                    error: Some(match e {
                        TextError::Empty => "web-err-text-empty",
                        TextError::TooLong => "web-err-text-long",
                    }),
                };
                (StatusCode::UNPROCESSABLE_ENTITY, r, draft)
            }
            Posted::Sent(r) => {
                let to = opened.here(&r.number.0, &[("lang", lang.as_str()), ("sent", "1")]);
                return Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header((header::REFERRER_POLICY, "no-referrer"))
                    .finish());
            }
        };
        view_page(status, lang, &r, opened, &draft, &store, &settings).await
    };
    match answered.await {
        Ok(res) => res,
        Err(e) => failure(lang, &e),
    }
}

#[cfg(test)]
pub(super) mod tests_support {
    use super::*;

    /// The lookup form, with and without its not-found message, in Kazakh.
    pub fn kazakh_pages() -> Vec<askama::Result<String>> {
        vec![
            lookup(Lang::Kk, "", "", false).render(),
            lookup(Lang::Kk, "KM-1", "+77011234567", true).render(),
        ]
    }
}
