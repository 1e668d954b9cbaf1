//! The customer's web pages, rendered on the server: plain HTML forms that work without
//! JavaScript (they post `application/x-www-form-urlencoded`), one stylesheet served from here
//! (`/web.css`), nothing from other hosts, a strict Content-Security-Policy, and every dynamic
//! value HTML-escaped.
//!
//! - `GET /` the request form (language from `?lang=`, else Accept-Language, else Kazakh), and
//!   `POST /form`: the same validation and acceptance as `POST /api/v1/requests` (channel `web`),
//!   a honeypot field `website`, rate limits per client address and per contact; the answer is the
//!   confirmation page (number and deadline in Kazakhstan time) or the form again with the
//!   messages next to the fields and the values kept.
//! - `GET /status` (number + contact), `GET /status/view?number=&contact=` (the customer-visible
//!   conversation; a wrong contact looks exactly like an unknown number), and
//!   `POST /status/message`: a message for the request (see [`crate::messages`]).
//!
//! Texts are in [`texts`], one table per language.

mod texts;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use komek_domain::calendar::Calendar;
use komek_domain::{Channel, Lang, Message, MessageKind, Request, Status, ack};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, FieldError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::antispam::{self, Limited};
use crate::intake::{self, CustomerIn, Submission};
use crate::messages;
use texts::{Texts, texts};

const CSS: &str = include_str!("pages/web.css");

/// Styles from this origin only; no scripts at all; forms post only here; no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The honeypot: a text field people never see (moved off screen by the stylesheet, hidden from
/// screen readers, skipped by Tab) and form-filling robots fill in.
pub const HONEYPOT: &str = "website";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(form_page))
        .route("/web.css", web::get().to(styles))
        .route("/form", web::post().to(submit_form))
        .route("/status", web::get().to(status_page))
        .route("/status/view", web::get().to(status_view))
        .route("/status/message", web::post().to(post_message));
}

// ---------------------------------------------------------------------------------------------
// Escaping, URLs, language

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value (everything but the unreserved characters).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` with the values percent-encoded (not yet HTML-escaped).
fn url(path: &str, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

fn parse_lang(s: &str) -> Option<Lang> {
    match s.trim().to_ascii_lowercase().as_str() {
        "kk" => Some(Lang::Kk),
        "ru" => Some(Lang::Ru),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The most wanted of kk, ru and en in an `Accept-Language` header (highest q, then first named).
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim();
        let Some(lang) = parse_lang(tag.split(['-', '_']).next().unwrap_or("")) else {
            continue;
        };
        let q = it
            .find_map(|p| p.trim().strip_prefix("q=").map(|v| v.trim().parse::<f32>()))
            .map(|q| q.unwrap_or(0.0))
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// `?lang=` (or the form's `lang`), else the browser's Accept-Language, else Kazakh.
fn page_lang(req: &HttpRequest, asked: Option<&str>) -> Lang {
    asked
        .and_then(parse_lang)
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(from_accept_language)
        })
        .unwrap_or(Lang::Kk)
}

// ---------------------------------------------------------------------------------------------
// Responses and layout

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The status page's address carries the contact: never send it elsewhere.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Accept-Language"))
        .body(body)
}

/// The page around `main`. `here` is the current page's address without `lang`, so the language
/// switch stays on it.
fn layout(lang: Lang, title: &str, here: &str, main: &str) -> String {
    let sep = if here.contains('?') { '&' } else { '?' };
    let links: String = [
        (Lang::Kk, "Қазақша"),
        (Lang::Ru, "Русский"),
        (Lang::En, "English"),
    ]
    .iter()
    .map(|(l, name)| {
        let href = format!("{here}{sep}lang={}", l.as_str());
        let current = if *l == lang {
            r#" aria-current="true""#
        } else {
            ""
        };
        format!(
            r#"<a href="{}" hreflang="{code}" lang="{code}"{current}>{name}</a>"#,
            escape(&href),
            code = l.as_str()
        )
    })
    .collect();
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Komek</title><link rel="stylesheet" href="/web.css"></head>
<body><header><div class="bar"><a class="brand" href="/?lang={lang}">Komek</a>
<nav class="langs" aria-label="Language">{links}</nav></div></header>
<main>
{main}
</main></body></html>
"#,
        lang = lang.as_str(),
        title = escape(title),
    )
}

/// The message for `field` under its input, and the attributes that tie them together.
fn field_error(errors: &Errors, field: &str) -> (String, String) {
    match errors.get(field) {
        Some(m) => (
            format!(r#" aria-invalid="true" aria-describedby="{field}-error""#),
            format!(r#"<p class="error" id="{field}-error">{}</p>"#, escape(m)),
        ),
        None => (String::new(), String::new()),
    }
}

/// Over a rate limit: 429 with Retry-After.
fn too_many(lang: Lang, l: Limited) -> HttpResponse {
    let t = texts(lang);
    let main = format!(
        r#"<h1>{title}</h1><p class="alert" role="alert">{text}</p>
<p class="links"><a href="{home}">{new}</a></p>"#,
        title = escape(t.too_many_title),
        text = escape(t.too_many),
        home = escape(&url("/", &[("lang", lang.as_str())])),
        new = escape(t.new_request),
    );
    let mut res = html(
        StatusCode::TOO_MANY_REQUESTS,
        layout(lang, t.too_many_title, "/", &main),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs));
    res
}

/// An error as a page: 503 (Redis away) says to try again shortly, a body that cannot be read
/// says so, anything else is our fault (already logged with its cause).
fn failure(lang: Lang, e: &ApiError) -> HttpResponse {
    let t = texts(lang);
    let status = e.status_code();
    let text = match status.as_u16() {
        503 => t.unavailable,
        400 | 413 | 415 | 422 => t.bad_form,
        _ => t.internal,
    };
    tracing::warn!(status = status.as_u16(), error = %e, "customer page failed");
    let main = format!(
        r#"<h1>{title}</h1><p class="alert" role="alert">{text}</p>
<p class="links"><a href="{home}">{new}</a></p>"#,
        title = escape(t.error_title),
        text = escape(text),
        home = escape(&url("/", &[("lang", lang.as_str())])),
        new = escape(t.new_request),
    );
    let mut res = html(status, layout(lang, t.error_title, "/", &main));
    if let Some(secs) = e.retry_after_secs() {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// A form body, if it is `application/x-www-form-urlencoded` and decodes.
fn parse_form<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Option<T> {
    let urlencoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !urlencoded {
        return None;
    }
    serde_urlencoded::from_bytes(body).ok()
}

/// The language a failed form post is answered in: its Accept-Language.
fn unreadable_form(req: &HttpRequest) -> HttpResponse {
    failure(
        page_lang(req, None),
        &ApiError::BadRequest {
            field: None,
            message: "the form could not be read".into(),
        },
    )
}

/// `GET /web.css`.
pub async fn styles() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(CSS)
}

// ---------------------------------------------------------------------------------------------
// The request form

type Errors = HashMap<&'static str, &'static str>;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// What the request form posts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    pub lang: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub text: String,
    /// The honeypot: must stay empty.
    pub website: String,
    /// A random id per form shown, used as the Idempotency-Key: a second click on Send gets the
    /// same request back instead of a second one.
    pub form_id: String,
}

fn form_main(lang: Lang, f: &RequestForm, errors: &Errors) -> String {
    let t = texts(lang);
    let summary = if errors.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="alert" role="alert" id="errors">{}</p>"#,
            escape(t.err_summary)
        )
    };
    let (name_a, name_e) = field_error(errors, "name");
    let (phone_a, phone_e) = field_error(errors, "phone");
    let (email_a, email_e) = field_error(errors, "email");
    let (text_a, text_e) = field_error(errors, "text");
    let (_, contact_e) = field_error(errors, "contact");
    let form_id = Uuid::parse_str(f.form_id.trim())
        .unwrap_or_else(|_| Uuid::new_v4())
        .to_string();
    format!(
        r#"<h1>{title}</h1>
<p>{intro}</p>
{summary}
<form method="post" action="/form" accept-charset="utf-8">
<input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="form_id" value="{form_id}">
<label for="name">{name_l}</label>
<input id="name" name="name" autocomplete="name" maxlength="200" value="{name}"{name_a}>{name_e}
<fieldset aria-describedby="contact-hint">
<legend>{legend}</legend>
<p class="hint" id="contact-hint">{hint}</p>{contact_e}
<label for="phone">{phone_l}</label>
<input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" placeholder="+7 7xx xxx xx xx" value="{phone}"{phone_a}>{phone_e}
<label for="email">{email_l}</label>
<input id="email" name="email" type="email" autocomplete="email" placeholder="name@example.kz" value="{email}"{email_a}>{email_e}
</fieldset>
<label for="text">{text_l}</label>
<textarea id="text" name="text" rows="6" maxlength="10000" required{text_a}>
{text}</textarea>{text_e}
<div class="hp" aria-hidden="true"><label for="{hp}">Website</label><input id="{hp}" name="{hp}" type="text" tabindex="-1" autocomplete="off" value=""></div>
<button type="submit" id="send">{send}</button>
</form>
<p class="links"><a href="{status_href}">{status_l}</a></p>"#,
        title = escape(t.form_title),
        intro = escape(t.form_intro),
        lang = lang.as_str(),
        name_l = escape(t.name),
        name = escape(&f.name),
        legend = escape(t.contact_legend),
        hint = escape(t.contact_hint),
        phone_l = escape(t.phone),
        phone = escape(&f.phone),
        email_l = escape(t.email),
        email = escape(&f.email),
        text_l = escape(t.text),
        text = escape(&f.text),
        hp = HONEYPOT,
        send = escape(t.send),
        status_href = escape(&url("/status", &[("lang", lang.as_str())])),
        status_l = escape(t.check_status_link),
    )
}

/// The validation messages of [`intake::validate`], in the page's language, by form field.
fn form_errors(t: &Texts, errs: &[FieldError]) -> Errors {
    let mut out = Errors::new();
    for e in errs {
        let (field, message) = match e.field.as_str() {
            "customer" => ("contact", t.err_contact),
            "customer.msisdn" => ("phone", t.err_phone),
            "customer.email" => ("email", t.err_email),
            "customer.name" => ("name", t.err_name),
            "text" if e.message.starts_with("at most") => ("text", t.err_text_long),
            "text" => ("text", t.err_text_empty),
            _ => continue,
        };
        out.entry(field).or_insert(message);
    }
    out
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `GET /`: the request form.
pub async fn form_page(req: HttpRequest, q: web::Query<LangQuery>) -> HttpResponse {
    let lang = page_lang(&req, q.lang.as_deref());
    let t = texts(lang);
    let main = form_main(lang, &RequestForm::default(), &Errors::new());
    html(StatusCode::OK, layout(lang, t.form_title, "/", &main))
}

/// `POST /form`.
pub async fn submit_form(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    calendar: web::Data<Calendar>,
) -> HttpResponse {
    let Some(f) = parse_form::<RequestForm>(&req, &body) else {
        return unreadable_form(&req);
    };
    let lang = page_lang(&req, Some(&f.lang));
    match submit(&req, &f, lang, &store, &settings, &calendar).await {
        Ok(res) => res,
        Err(e) => failure(lang, &e),
    }
}

async fn submit(
    req: &HttpRequest,
    f: &RequestForm,
    lang: Lang,
    store: &Store,
    settings: &Settings,
    calendar: &Calendar,
) -> Result<HttpResponse, ApiError> {
    let t = texts(lang);
    if let Some(l) = antispam::by_address(store, settings, req, antispam::REQUEST).await? {
        return Ok(too_many(lang, l));
    }
    if !f.website.trim().is_empty() {
        let address = antispam::client_address(req, settings)
            .map(antispam::address_key)
            .unwrap_or_default();
        tracing::warn!(%address, "web form honeypot filled in: answered as accepted, stored nothing");
        let main = format!(
            r#"<h1>{title}</h1><p>{thanks}</p>
<p class="links"><a href="{home}">{new}</a></p>"#,
            title = escape(t.confirm_title),
            thanks = escape(t.thanks),
            home = escape(&url("/", &[("lang", lang.as_str())])),
            new = escape(t.new_request),
        );
        return Ok(html(
            StatusCode::OK,
            layout(lang, t.confirm_title, "/", &main),
        ));
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
    let customer = match intake::validate(&submission) {
        Ok((customer, _, _)) => customer,
        Err(ApiError::Invalid(errs)) => {
            let main = form_main(lang, f, &form_errors(t, &errs));
            return Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(lang, t.form_title, "/", &main),
            ));
        }
        Err(e) => return Err(e),
    };
    if let Some(l) = antispam::by_contact(store, settings, &customer, antispam::REQUEST).await? {
        return Ok(too_many(lang, l));
    }
    let key = Uuid::parse_str(f.form_id.trim())
        .ok()
        .map(|id| format!("web-form:{id}"));
    let r = match intake::accept(store, settings, calendar, &submission, key.as_deref()).await? {
        Created::New(r) | Created::Replayed(r) => r,
        // The same form sent again with other values (back, edit, send): a request of its own.
        Created::KeyReused => {
            match intake::accept(store, settings, calendar, &submission, None).await? {
                Created::New(r) | Created::Replayed(r) => r,
                Created::KeyReused => return Err(ApiError::Internal),
            }
        }
    };
    let contact = customer
        .msisdn
        .as_ref()
        .map(|m| m.as_str().to_owned())
        .or_else(|| customer.email.as_ref().map(|e| e.as_str().to_owned()))
        .unwrap_or_default();
    let main = confirmation_main(lang, &r, &contact);
    Ok(html(
        StatusCode::OK,
        layout(lang, t.confirm_title, "/", &main),
    ))
}

fn confirmation_main(lang: Lang, r: &Request, contact: &str) -> String {
    let t = texts(lang);
    let number = r.number.0.as_str();
    format!(
        r#"<h1>{title}</h1>
<dl class="facts">
<dt>{number_l}</dt><dd><span class="big" id="number">{number}</span></dd>
<dt>{due_l}</dt><dd><span id="due">{due}</span> ({tz})</dd>
</dl>
<p>{keep}</p>
<p class="links"><a id="status-link" href="{view}">{view_l}</a><a href="{home}">{new}</a></p>"#,
        title = escape(t.confirm_title),
        number_l = escape(t.confirm_number),
        number = escape(number),
        due_l = escape(t.confirm_due),
        due = escape(&ack::format_local(r.due.resolution)),
        tz = escape(t.kazakhstan_time),
        keep = escape(t.confirm_keep),
        view = escape(&url(
            "/status/view",
            &[
                ("number", number),
                ("contact", contact),
                ("lang", lang.as_str())
            ]
        )),
        view_l = escape(t.view_status),
        home = escape(&url("/", &[("lang", lang.as_str())])),
        new = escape(t.new_request),
    )
}

// ---------------------------------------------------------------------------------------------
// The status pages

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusQuery {
    pub lang: Option<String>,
    pub number: Option<String>,
    pub contact: Option<String>,
    /// Set by the redirect after a message was sent.
    pub sent: Option<String>,
}

/// The lookup form; with `not_found`, the one answer for an unknown number and a wrong contact.
fn lookup_main(lang: Lang, number: &str, contact: &str, not_found: bool) -> String {
    let t = texts(lang);
    let alert = if not_found {
        format!(
            r#"<p class="alert" role="alert" id="not-found">{}</p>"#,
            escape(t.not_found)
        )
    } else {
        String::new()
    };
    format!(
        r#"<h1>{title}</h1>
<p>{intro}</p>
{alert}
<form method="get" action="/status/view" accept-charset="utf-8">
<input type="hidden" name="lang" value="{lang}">
<label for="number">{number_l}</label>
<input id="number" name="number" required maxlength="32" autocomplete="off" autocapitalize="characters" placeholder="KM-000123" value="{number}">
<label for="contact">{contact_l}</label>
<input id="contact" name="contact" required maxlength="254" autocomplete="tel" value="{contact}">
<button type="submit" id="show">{show}</button>
</form>
<p class="links"><a href="{home}">{new}</a></p>"#,
        title = escape(t.status_title),
        intro = escape(t.status_intro),
        lang = lang.as_str(),
        number_l = escape(t.number),
        number = escape(number),
        contact_l = escape(t.contact),
        contact = escape(contact),
        show = escape(t.show),
        home = escape(&url("/", &[("lang", lang.as_str())])),
        new = escape(t.new_request),
    )
}

fn not_found(lang: Lang, number: &str, contact: &str) -> HttpResponse {
    let t = texts(lang);
    html(
        StatusCode::NOT_FOUND,
        layout(
            lang,
            t.status_title,
            "/status",
            &lookup_main(lang, number, contact, true),
        ),
    )
}

fn kind_class(k: MessageKind) -> &'static str {
    match k {
        MessageKind::Acknowledgment => "acknowledgment",
        MessageKind::Customer => "customer",
        MessageKind::Reply => "reply",
        MessageKind::Resolution => "resolution",
    }
}

/// The survey link, once the request is resolved and the survey service has made one.
async fn survey_url(
    store: &Store,
    settings: &Settings,
    r: &Request,
) -> Result<Option<String>, ApiError> {
    if r.status != Status::Resolved && r.status != Status::Closed {
        return Ok(None);
    }
    Ok(store
        .get_string(&store.keys().survey_of_request(r.id))
        .await?
        .map(|token| settings.survey.link(&token)))
}

/// What the message form shows besides the request: a notice, the text being written and its
/// error.
#[derive(Default)]
struct Draft<'a> {
    notice: Option<&'static str>,
    text: &'a str,
    error: Option<&'static str>,
}

fn view_main(
    lang: Lang,
    r: &Request,
    contact: &str,
    survey: Option<&str>,
    draft: &Draft<'_>,
) -> String {
    let t = texts(lang);
    let number = r.number.0.as_str();
    let notice = draft
        .notice
        .map(|n| {
            format!(
                r#"<p class="notice" role="status" id="notice">{}</p>"#,
                escape(n)
            )
        })
        .unwrap_or_default();
    let survey = survey
        .map(|u| {
            format!(
                r#"<p><a id="survey" href="{}">{}</a></p>"#,
                escape(u),
                escape(t.survey)
            )
        })
        .unwrap_or_default();
    // The customer's own request opens the conversation.
    let opening = Message {
        kind: MessageKind::Customer,
        text: match &r.subject {
            Some(subject) => format!("{subject}\n\n{}", r.text),
            None => r.text.clone(),
        },
        at: r.created_at,
    };
    let items: String = std::iter::once(&opening)
        .chain(&r.messages)
        .map(|m| {
            format!(
                r#"<li class="msg msg-{class}"><p class="meta"><span class="who">{who}</span><time datetime="{iso}">{local}</time></p><p class="body">{text}</p></li>
"#,
                class = kind_class(m.kind),
                who = escape(t.kind_label(m.kind)),
                iso = escape(&m.at.format(&Rfc3339).unwrap_or_default()),
                local = escape(&ack::format_local(m.at)),
                text = escape(&m.text),
            )
        })
        .collect();
    let compose = if r.status == Status::Closed {
        format!(
            r#"<p class="notice" id="closed">{closed}</p>
<p class="links"><a href="{home}">{new}</a></p>"#,
            closed = escape(t.closed),
            home = escape(&url("/", &[("lang", lang.as_str())])),
            new = escape(t.new_request),
        )
    } else {
        let hint = if r.status == Status::Resolved {
            format!(r#"<p class="hint">{}</p>"#, escape(t.reopen_hint))
        } else {
            String::new()
        };
        let errors: Errors = draft.error.map(|e| ("message", e)).into_iter().collect();
        let (msg_a, msg_e) = field_error(&errors, "message");
        format!(
            r#"<form method="post" action="/status/message" accept-charset="utf-8">
<input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="number" value="{number}">
<input type="hidden" name="contact" value="{contact}">
<label for="message">{add}</label>{hint}
<textarea id="message" name="text" rows="4" maxlength="10000" required{msg_a}>
{text}</textarea>{msg_e}
<button type="submit" id="send-message">{send}</button>
</form>"#,
            lang = lang.as_str(),
            number = escape(number),
            contact = escape(contact),
            add = escape(t.add_message),
            text = escape(draft.text),
            send = escape(t.send_message),
        )
    };
    format!(
        r#"<h1>{request} <span id="number">{number}</span></h1>
{notice}
<dl class="facts">
<dt>{status_l}</dt><dd id="status">{status}</dd>
<dt>{created_l}</dt><dd>{created}</dd>
<dt>{due_l}</dt><dd id="due">{due} ({tz})</dd>
</dl>
{survey}
<h2>{conversation}</h2>
<ol class="conversation" id="conversation">
{items}</ol>
{compose}
<p class="links"><a href="{lookup}">{status_title}</a><a href="{home}">{new}</a></p>"#,
        request = escape(t.request),
        number = escape(number),
        status_l = escape(t.status),
        status = escape(t.status_label(r.status)),
        created_l = escape(t.created),
        created = escape(&ack::format_local(r.created_at)),
        due_l = escape(t.due),
        due = escape(&ack::format_local(r.due.resolution)),
        tz = escape(t.kazakhstan_time),
        conversation = escape(t.conversation),
        lookup = escape(&url("/status", &[("lang", lang.as_str())])),
        status_title = escape(t.status_title),
        home = escape(&url("/", &[("lang", lang.as_str())])),
        new = escape(t.new_request),
    )
}

async fn view_page(
    status: StatusCode,
    lang: Lang,
    r: &Request,
    contact: &str,
    draft: &Draft<'_>,
    store: &Store,
    settings: &Settings,
) -> Result<HttpResponse, ApiError> {
    let t = texts(lang);
    let survey = survey_url(store, settings, r).await?;
    let here = url(
        "/status/view",
        &[("number", &r.number.0), ("contact", contact)],
    );
    let main = view_main(lang, r, contact, survey.as_deref(), draft);
    let title = format!("{} {}", t.request, r.number.0);
    Ok(html(status, layout(lang, &title, &here, &main)))
}

/// `GET /status`: the lookup form.
pub async fn status_page(req: HttpRequest, q: web::Query<StatusQuery>) -> HttpResponse {
    let lang = page_lang(&req, q.lang.as_deref());
    let t = texts(lang);
    let main = lookup_main(
        lang,
        q.number.as_deref().unwrap_or(""),
        q.contact.as_deref().unwrap_or(""),
        false,
    );
    html(
        StatusCode::OK,
        layout(lang, t.status_title, "/status", &main),
    )
}

/// `GET /status/view?number=&contact=`: the request as its customer sees it.
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
        let Some(r) = messages::find(&store, number, contact).await? else {
            return Ok(not_found(lang, number, contact));
        };
        let draft = Draft {
            notice: q.sent.is_some().then_some(texts(lang).sent),
            ..Draft::default()
        };
        view_page(StatusCode::OK, lang, &r, contact, &draft, &store, &settings).await
    };
    match shown.await {
        Ok(res) => res,
        Err(e) => failure(lang, &e),
    }
}

/// What the status page's message form posts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageForm {
    pub lang: String,
    pub number: String,
    pub contact: String,
    pub text: String,
}

/// `POST /status/message`: the message goes to the workspace as `request.customer_message`;
/// the answer redirects (303) to the status page, which says it was sent.
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
    match add_message(&req, &f, lang, &store, &settings).await {
        Ok(res) => res,
        Err(e) => failure(lang, &e),
    }
}

async fn add_message(
    req: &HttpRequest,
    f: &MessageForm,
    lang: Lang,
    store: &Store,
    settings: &Settings,
) -> Result<HttpResponse, ApiError> {
    let t = texts(lang);
    if let Some(l) = antispam::by_address(store, settings, req, antispam::MESSAGE).await? {
        return Ok(too_many(lang, l));
    }
    let Some(r) = messages::find(store, &f.number, &f.contact).await? else {
        return Ok(not_found(lang, &f.number, &f.contact));
    };
    if r.status == Status::Closed {
        return view_page(
            StatusCode::CONFLICT,
            lang,
            &r,
            &f.contact,
            &Draft::default(),
            store,
            settings,
        )
        .await;
    }
    let text = match messages::text(&f.text) {
        Ok(text) => text,
        Err(e) => {
            let draft = Draft {
                notice: None,
                text: &f.text,
                error: Some(match e {
                    messages::TextError::Empty => t.err_text_empty,
                    messages::TextError::TooLong => t.err_text_long,
                }),
            };
            return view_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &r,
                &f.contact,
                &draft,
                store,
                settings,
            )
            .await;
        }
    };
    if let Some(l) = antispam::by_contact(store, settings, &r.customer, antispam::MESSAGE).await? {
        return Ok(too_many(lang, l));
    }
    messages::send(store, &r, Channel::Web, &text).await?;
    let to = url(
        "/status/view",
        &[
            ("number", &r.number.0),
            ("contact", &f.contact),
            ("lang", lang.as_str()),
            ("sent", "1"),
        ],
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"x"&'"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            url(
                "/status/view",
                &[("number", "KM-1"), ("contact", "+7 701&a=b")]
            ),
            "/status/view?number=KM-1&contact=%2B7%20701%26a%3Db"
        );
        assert_eq!(enc("қ"), "%D2%9B");
    }

    #[test]
    fn accept_language_picks_the_most_wanted_known_language() {
        assert_eq!(
            from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Some(Lang::Ru)
        );
        assert_eq!(
            from_accept_language("de-DE, en;q=0.5, kk;q=0.7"),
            Some(Lang::Kk)
        );
        assert_eq!(from_accept_language("kk-KZ"), Some(Lang::Kk));
        assert_eq!(from_accept_language("en;q=0, fr"), None);
        assert_eq!(from_accept_language(""), None);
        assert_eq!(from_accept_language("ru;q=abc, en"), Some(Lang::En));
    }

    #[test]
    fn every_text_table_is_filled_in() {
        for lang in [Lang::Kk, Lang::Ru, Lang::En] {
            let page = form_main(lang, &RequestForm::default(), &Errors::new());
            assert!(!page.contains("{"), "{page}");
            let t = texts(lang);
            for s in [
                t.form_title,
                t.confirm_title,
                t.not_found,
                t.sent,
                t.too_many,
            ] {
                assert!(!s.is_empty());
            }
        }
    }

    #[test]
    fn pages_load_nothing_from_elsewhere_and_have_no_inline_code() {
        let main = form_main(Lang::En, &RequestForm::default(), &Errors::new());
        let page = layout(Lang::En, "x", "/", &main);
        for text in [page.as_str(), CSS] {
            assert!(!text.contains("http://"), "external URL");
            assert!(!text.contains("https://"), "external URL");
            assert!(!text.contains("@import"));
        }
        for bad in ["<script", " style=", "<style", " onclick=", " onsubmit="] {
            assert!(!page.contains(bad), "{bad} breaks the CSP");
        }
        assert!(!CSP.contains("unsafe"));
    }

    #[test]
    fn field_values_are_escaped_in_the_form() {
        let f = RequestForm {
            name: r#""><script>alert(1)</script>"#.into(),
            text: "</textarea><script>x</script>".into(),
            ..RequestForm::default()
        };
        let page = form_main(Lang::Ru, &f, &Errors::new());
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;/textarea&gt;&lt;script&gt;"));
    }
}
