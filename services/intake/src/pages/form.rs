//! `GET /` the request form, `POST /form` its answer: the confirmation, or the form again with
//! the messages next to the fields.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use komek_domain::calendar::Calendar;
use komek_domain::{Lang, Request, ack};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::FieldError;
use komek_web::html::{Chrome, page, url};
use uuid::Uuid;

use super::{LangQuery, failure, home, notice, page_lang, too_many, unreadable_form};
use crate::web_form::{self, HONEYPOT, RequestForm, Submitted};
use komek_web::html::parse_form;

/// A form field's message, by field.
type Errors = HashMap<&'static str, String>;

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    chrome: Chrome,
    form_id: String,
    name: &'a str,
    phone: &'a str,
    email: &'a str,
    text: &'a str,
    has_errors: bool,
    err_name: Option<String>,
    err_contact: Option<String>,
    err_phone: Option<String>,
    err_email: Option<String>,
    err_text: Option<String>,
    honeypot: &'static str,
    status_href: String,
}

fn form_page_for<'a>(lang: Lang, f: &'a RequestForm, mut errors: Errors) -> FormPage<'a> {
    let form_id = Uuid::parse_str(f.form_id.trim())
        .unwrap_or_else(|_| Uuid::new_v4())
        .to_string();
    FormPage {
        chrome: Chrome::switchable(lang, komek_i18n::t(lang, "web-form-title"), "/"),
        form_id,
        name: &f.name,
        phone: &f.phone,
        email: &f.email,
        text: &f.text,
        has_errors: !errors.is_empty(),
        err_name: errors.remove("name"),
        err_contact: errors.remove("contact"),
        err_phone: errors.remove("phone"),
        err_email: errors.remove("email"),
        err_text: errors.remove("text"),
        honeypot: HONEYPOT,
        status_href: url("/status", &[("lang", lang.as_str())]),
    }
}

/// The validation messages of [`crate::intake::Valid`], in the page's language, by form field.
fn form_errors(lang: Lang, errs: &[FieldError]) -> Errors {
    let mut out = Errors::new();
    for e in errs {
        let (field, key) = match e.field.as_str() {
            "customer" => ("contact", "web-err-contact"),
            "customer.msisdn" => ("phone", "web-err-phone"),
            "customer.email" => ("email", "web-err-email"),
            "customer.name" => ("name", "web-err-name"),
            "text" if e.message.starts_with("at most") => ("text", "web-err-text-long"),
            "text" => ("text", "web-err-text-empty"),
            _ => continue,
        };
        out.entry(field).or_insert_with(|| komek_i18n::t(lang, key));
    }
    out
}

#[derive(Template)]
#[template(path = "confirmation.html")]
struct Confirmation {
    chrome: Chrome,
    number: String,
    due: String,
    view_href: String,
    /// The status token's page, shown whole so the customer can keep it.
    status_url: Option<String>,
    home: String,
}

fn confirmation(
    settings: &Settings,
    lang: Lang,
    r: &Request,
    contact: &str,
    status_token: Option<&str>,
) -> Confirmation {
    let number = r.number.0.as_str();
    let lang_q = [("lang", lang.as_str())];
    let view_href = match status_token {
        Some(t) => url(&format!("/status/t/{t}"), &lang_q),
        None => url(
            "/status/view",
            &[
                ("number", number),
                ("contact", contact),
                ("lang", lang.as_str()),
            ],
        ),
    };
    Confirmation {
        chrome: Chrome::switchable(lang, komek_i18n::t(lang, "web-confirm-title"), "/"),
        number: number.to_owned(),
        due: ack::format_local(r.due.resolution),
        view_href,
        status_url: status_token.map(|t| settings.web.status_link(t)),
        home: home(lang),
    }
}

/// `GET /`: the request form.
#[utoipa::path(get, path = "/", tag = "pages", params(super::LangQuery),
    responses((status = 200, description = "The request form", content_type = "text/html")))]
pub async fn form_page(req: HttpRequest, q: web::Query<LangQuery>) -> HttpResponse {
    let lang = page_lang(&req, q.lang.as_deref());
    page(
        StatusCode::OK,
        &form_page_for(lang, &RequestForm::default(), Errors::new()),
    )
}

/// `POST /form`: the same checks and acceptance as `POST /api/v1/requests` (channel `web`).
#[utoipa::path(post, path = "/form", tag = "pages",
    request_body(content = crate::web_form::RequestForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The confirmation, with the number and the status link", content_type = "text/html"),
        (status = 422, description = "The form again, saying what to correct", content_type = "text/html"),
        (status = 429, description = "Too many requests from this address or contact", content_type = "text/html")))]
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
    match web_form::submit(&req, &f, lang, &store, &settings, &calendar).await {
        Ok(Submitted::Limited(l)) => too_many(lang, l),
        Ok(Submitted::Honeypot) => notice(
            StatusCode::OK,
            lang,
            "web-confirm-title",
            "web-thanks",
            false,
        ),
        Ok(Submitted::Invalid(errs)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page_for(lang, &f, form_errors(lang, &errs)),
        ),
        Ok(Submitted::Accepted {
            request,
            contact,
            status_token,
        }) => page(
            StatusCode::OK,
            &confirmation(&settings, lang, &request, &contact, status_token.as_deref()),
        ),
        Err(e) => failure(lang, &e),
    }
}

/// Every page the customer can see, rendered in Kazakh with every message shown.
#[cfg(test)]
pub(super) mod tests_support {
    use super::*;

    pub fn kazakh_pages() -> Vec<String> {
        let lang = Lang::Kk;
        let errs: Vec<FieldError> = [
            ("customer", "x"),
            ("customer.msisdn", "x"),
            ("customer.email", "x"),
            ("customer.name", "x"),
            ("text", "x"),
        ]
        .into_iter()
        .map(|(field, message)| FieldError {
            field: field.into(),
            message: message.into(),
        })
        .collect();
        let f = RequestForm::default();
        let mut pages = vec![
            form_page_for(lang, &f, Errors::new()).render(),
            form_page_for(lang, &f, form_errors(lang, &errs)).render(),
        ];
        pages.extend(super::super::status::tests_support::kazakh_pages());
        let mut out: Vec<String> = pages.into_iter().filter_map(Result::ok).collect();
        for (title, text) in [
            ("web-too-many-title", "web-too-many"),
            ("web-error-title", "web-unavailable"),
            ("web-error-title", "web-bad-form"),
            ("web-error-title", "web-internal"),
            ("web-confirm-title", "web-thanks"),
        ] {
            let res = notice(StatusCode::OK, lang, title, text, true);
            let body = actix_web::body::to_bytes(res.into_body());
            if let Ok(b) = futures_lite_block(body) {
                out.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
        out
    }

    /// A finished body future (an in-memory body is ready at once).
    fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
        actix_web::rt::System::new().block_on(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(lang: Lang, f: &RequestForm) -> String {
        form_page_for(lang, f, Errors::new())
            .render()
            .unwrap_or_default()
    }

    #[test]
    fn every_text_is_filled_in() {
        for lang in komek_i18n::ALL {
            let page = render(lang, &RequestForm::default());
            assert!(!page.contains("web-"), "{page}");
            assert!(page.contains(&komek_i18n::t(lang, "web-form-title")));
        }
    }

    #[test]
    fn pages_load_nothing_from_elsewhere_and_have_no_inline_code() {
        let page = render(Lang::En, &RequestForm::default());
        assert!(!page.contains("http://"), "external URL");
        assert!(!page.contains("https://"), "external URL");
        for bad in ["<script", " style=", "<style", " onclick=", " onsubmit="] {
            assert!(!page.contains(bad), "{bad} breaks the CSP");
        }
    }

    #[test]
    fn field_values_are_escaped_in_the_form() {
        let f = RequestForm {
            name: r#""><script>alert(1)</script>"#.into(),
            text: "</textarea><script>x</script>".into(),
            ..RequestForm::default()
        };
        let page = render(Lang::Ru, &f);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("</textarea><"), "{page}");
        assert!(
            page.contains("&#60;/textarea&#62;&#60;script&#62;"),
            "{page}"
        );
    }

    #[test]
    fn errors_stand_next_to_their_fields() {
        let errs = [FieldError {
            field: "customer.msisdn".into(),
            message: "bad".into(),
        }];
        let page = form_page_for(
            Lang::Kk,
            &RequestForm::default(),
            form_errors(Lang::Kk, &errs),
        )
        .render()
        .unwrap_or_default();
        assert!(page.contains(r#"aria-describedby="phone-error""#));
        assert!(page.contains(&komek_i18n::t(Lang::Kk, "web-err-phone")));
        assert!(page.contains(r#"id="errors""#));
    }
}
