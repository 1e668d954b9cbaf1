//! The customer's web pages, rendered on the server from askama templates
//! (`services/intake/templates/`, extending the shared `layout.html` of `libs/web/templates/`):
//! plain HTML forms that work without JavaScript (they post
//! `application/x-www-form-urlencoded`), one stylesheet (`/web.css`), nothing from other hosts,
//! the customer pages' strict Content-Security-Policy ([`komek_web::html`]), every dynamic value
//! escaped by the template engine, every text from the catalogue (`web-*` in
//! `libs/i18n/locales/<lang>/web.ftl`).
//!
//! - [`form`]: `GET /` the request form (language from `?lang=`, else Accept-Language, else
//!   Kazakh) and `POST /form`: the confirmation page (number and deadline in Kazakhstan time) or
//!   the form again with the messages next to the fields and the values kept.
//! - [`status`]: `GET /status` (number + contact), `GET /status/view?number=&contact=` (the
//!   customer-visible conversation; a wrong contact looks exactly like an unknown number; failed
//!   lookups are limited), `GET /status/t/{token}` (the same, opened with the status token given
//!   on the confirmation page), and `POST /status/message`: a message for the request.
//! - here: the language of a page, the pages' error answers, reading a form body.
//!
//! What the forms do (anti-spam, validation, acceptance, sending a message) is in
//! [`crate::web_form`]; the pages only render its outcome.

pub mod form;
pub mod status;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use komek_domain::Lang;
use komek_web::ApiError;
use komek_web::html::{Chrome, page, url};
use serde::Deserialize;

use crate::antispam::Limited;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(form::form_page))
        .configure(komek_web::html::configure)
        .route("/form", web::post().to(form::submit_form))
        .route("/status", web::get().to(status::status_page))
        .route("/status/view", web::get().to(status::status_view))
        .route("/status/t/{token}", web::get().to(status::status_by_token))
        .route("/status/message", web::post().to(status::post_message));
}

/// The most wanted of kk, ru and en in an `Accept-Language` header (highest q, then first named).
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim();
        let Some(lang) = komek_i18n::parse_lang(tag.split(['-', '_']).next().unwrap_or("")) else {
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
        .and_then(komek_i18n::parse_lang)
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(from_accept_language)
        })
        .unwrap_or(Lang::Kk)
}

/// The address of the form page in `lang`.
fn home(lang: Lang) -> String {
    url("/", &[("lang", lang.as_str())])
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct LangQuery {
    /// `kk`, `ru` or `en`; absent or another: the browser's language.
    pub lang: Option<String>,
}

/// A heading, one sentence and the link to a new request: the honeypot's thanks and the errors.
#[derive(Template)]
#[template(path = "notice.html")]
struct Notice {
    chrome: Chrome,
    text: String,
    alert: bool,
    home: String,
}

fn notice(
    status: StatusCode,
    lang: Lang,
    title_key: &str,
    text_key: &str,
    alert: bool,
) -> HttpResponse {
    let t = |k: &str| komek_i18n::t(lang, k);
    page(
        status,
        &Notice {
            chrome: Chrome::switchable(lang, t(title_key), "/"),
            text: t(text_key),
            alert,
            home: home(lang),
        },
    )
}

/// Over a rate limit: 429 with Retry-After.
fn too_many(lang: Lang, l: Limited) -> HttpResponse {
    let mut res = notice(
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        "web-too-many-title",
        "web-too-many",
        true,
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs));
    res
}

/// An error as a page: 503 (Redis away) says to try again shortly, a body that cannot be read
/// says so, anything else is our fault (already logged with its cause).
fn failure(lang: Lang, e: &ApiError) -> HttpResponse {
    let status = e.status_code();
    let text = match status.as_u16() {
        503 => "web-unavailable",
        400 | 413 | 415 | 422 => "web-bad-form",
        _ => "web-internal",
    };
    tracing::warn!(status = status.as_u16(), error = %e, "customer page failed");
    let mut res = notice(status, lang, "web-error-title", text, true);
    if let Some(secs) = e.retry_after_secs() {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

/// No Kazakh page shows an English text: every text on it comes from the Kazakh catalogue.
#[cfg(test)]
mod kazakh {
    use super::form::tests_support::kazakh_pages;

    #[test]
    fn no_kazakh_page_shows_english_fallback_text() {
        // The customer pages' own messages (the staff pages' texts never appear on them).
        let english = komek_i18n::english_only(&["web-"]);
        assert!(!english.is_empty());
        for page in kazakh_pages() {
            for text in &english {
                assert!(
                    !page.contains(text.as_str()),
                    "{text:?} on a Kazakh page:\n{page}"
                );
            }
        }
    }
}
