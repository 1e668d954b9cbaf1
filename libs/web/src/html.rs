//! The customers' server-rendered pages (intake's request and status pages, the survey page):
//! one Content-Security-Policy, one set of response headers, one stylesheet (`/web.css`) and the
//! page chrome every page template extends (`templates/layout.html`, through each service's
//! `askama.toml`). The pages are plain HTML forms (read by [`parse_form`]): no script at all,
//! nothing from other hosts.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use komek_domain::Lang;
use serde::de::DeserializeOwned;

/// Styles from this origin only; no scripts at all; forms post only here; no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The customer pages' stylesheet, served at `/web.css`.
pub const STYLES: &str = include_str!("../customer/web.css");

/// What the layout needs besides the page's own content.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    /// The page's title, before " — Komek".
    pub title: String,
    /// Where the brand links to; `None` shows it as plain text.
    pub home: Option<String>,
    /// The language switch; empty for a page whose language is fixed.
    pub langs: Vec<LangLink>,
}

/// One link of the language switch.
#[derive(Debug, Clone)]
pub struct LangLink {
    pub code: &'static str,
    /// The language's own name for itself.
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

impl Chrome {
    /// A page in `lang` with no language switch and no home link.
    pub fn fixed(lang: Lang, title: String) -> Self {
        Self {
            lang,
            title,
            home: None,
            langs: Vec::new(),
        }
    }

    /// A page with a home link (`/`) and a language switch that stays on `here` (the page's
    /// address without `lang`).
    pub fn switchable(lang: Lang, title: String, here: &str) -> Self {
        let sep = if here.contains('?') { '&' } else { '?' };
        let langs = [
            (Lang::Kk, "Қазақша"),
            (Lang::Ru, "Русский"),
            (Lang::En, "English"),
        ]
        .into_iter()
        .map(|(l, name)| LangLink {
            code: l.as_str(),
            name,
            href: format!("{here}{sep}lang={}", l.as_str()),
            current: l == lang,
        })
        .collect();
        Self {
            lang,
            title,
            home: Some(format!("/?lang={}", lang.as_str())),
            langs,
        }
    }

    /// A text of the page's language (see `komek_i18n`).
    pub fn t(&self, key: &str) -> String {
        komek_i18n::t(self.lang, key)
    }
}

/// A customer form's body, if it is `application/x-www-form-urlencoded` and decodes: the one
/// rule for every customer page's POST (intake's request and status pages, the survey form).
pub fn parse_form<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Option<T> {
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

/// A rendered page with the customer pages' headers.
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Komek</title><h1>500</h1>".to_owned(),
            )
        }
    }
}

/// `body` as an HTML page with the customer pages' headers.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Page addresses carry a contact or a survey token: never send them elsewhere.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Accept-Language"))
        .body(body)
}

/// `GET /web.css`.
pub async fn styles() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(STYLES)
}

/// Mounts `GET /web.css`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/web.css", web::get().to(styles));
}

/// The access rule of what [`configure`] mounts.
pub fn rules() -> Vec<crate::access::Rule> {
    vec![crate::access::rule(
        actix_web::http::Method::GET,
        "/web.css",
        crate::access::Access::Anonymous,
    )]
}

/// Percent-encodes a query-string value (everything but the unreserved characters).
pub fn enc(s: &str) -> String {
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

/// `path?k=v&...` with the values percent-encoded (the template escapes it for HTML).
pub fn url(path: &str, pairs: &[(&str, &str)]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_stylesheet_loads_nothing_from_elsewhere_and_the_policy_allows_no_code() {
        for bad in ["http://", "https://", "@import"] {
            assert!(!STYLES.contains(bad), "{bad}");
        }
        assert!(!CSP.contains("unsafe"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
