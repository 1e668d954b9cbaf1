//! The survey page: a plain HTML form (no JavaScript) posted back to its own address, rendered
//! from askama templates (`templates/`, extending the customer pages' shared `layout.html`),
//! served with the customer pages' strict Content-Security-Policy ([`komek_web::html`]); every
//! text from the catalogue (`survey-*` in `libs/i18n/locales/<lang>/survey.ftl`).
//!
//! - `GET /s/{token}`: the form, in the customer's language.
//! - `POST /s/{token}` (`csat`, `comment`): the same answer as the JSON API
//!   ([`crate::routes::record`]); the answer is the page again with its message: thanks, already
//!   answered, or what to correct.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use komek_domain::Lang;
use komek_domain::survey::Survey;
use komek_store::Store;
use komek_web::ApiError;
use komek_web::html::{Chrome, enc, page, parse_form};
use serde::Deserialize;

use crate::routes::{Answer, open_survey, record};

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage<'a> {
    chrome: Chrome,
    intro: String,
    /// Where the form posts; `None` once answered (no form shown).
    action: Option<String>,
    message: Option<String>,
    alert: bool,
    csat: Option<u8>,
    comment: &'a str,
}

/// One choice of the 1-5 score.
struct Score {
    n: u8,
    checked: bool,
}

impl SurveyPage<'_> {
    fn scores(&self) -> Vec<Score> {
        (1..=5)
            .map(|n| Score {
                n,
                checked: self.csat == Some(n),
            })
            .collect()
    }
}

fn survey_page<'a>(s: &Survey, token: &str) -> SurveyPage<'a> {
    let lang = s.language;
    SurveyPage {
        chrome: Chrome::fixed(lang, komek_i18n::t(lang, "survey-title")),
        intro: komek_i18n::text(
            lang,
            "survey-intro",
            &[("number", s.number.0.as_str().into())],
        ),
        action: Some(format!("/s/{}", enc(token))),
        message: None,
        alert: false,
        csat: None,
        comment: "",
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound {
    chrome: Chrome,
    heading: String,
    hint: String,
}

/// The page for a link that is wrong or expired: in all three languages, as the link tells
/// nothing about its reader.
pub fn not_found() -> HttpResponse {
    let all = |key: &str| {
        komek_i18n::ALL
            .into_iter()
            .map(|l| komek_i18n::t(l, key))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    page(
        StatusCode::NOT_FOUND,
        &NotFound {
            chrome: Chrome::fixed(Lang::Kk, "Komek".to_owned()),
            heading: all("survey-not-found"),
            hint: all("survey-not-found-hint"),
        },
    )
}

/// `GET /s/{token}`.
pub async fn show(
    store: web::Data<Store>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(match open_survey(&store, &token).await? {
        Some(s) => page(StatusCode::OK, &survey_page(&s, &token)),
        None => not_found(),
    })
}

/// What the survey form posts.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AnswerForm {
    /// 1 (very bad) to 5 (very good).
    #[schema(required = true, pattern = r"^\s*[1-5]\s*$")]
    pub csat: String,
    #[schema(format = "text-or-blank", max_length = 2000)]
    pub comment: String,
}

/// `POST /s/{token}`: the form's answer.
pub async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = open_survey(&store, &token).await? else {
        return Ok(not_found());
    };
    let form: AnswerForm = parse_form(&req, &body).unwrap_or_default();
    let lang = s.language;
    let mut shown = survey_page(&s, &token);
    shown.csat = form.csat.trim().parse().ok();
    shown.comment = &form.comment;
    let (status, key, alert, keep_form) = match shown.csat {
        None => (StatusCode::UNPROCESSABLE_ENTITY, "survey-pick", true, true),
        Some(csat) => match record(&store, &token, csat, Some(form.comment.as_str())).await {
            Ok(()) => (StatusCode::OK, "survey-thanks", false, false),
            Err(Answer::Invalid("csat")) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "survey-pick", true, true)
            }
            Err(Answer::Invalid(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "survey-comment-long",
                true,
                true,
            ),
            Err(Answer::AlreadyAnswered) => (StatusCode::CONFLICT, "survey-done", true, false),
            Err(Answer::NotFound) => return Ok(not_found()),
            Err(other) => {
                let e = ApiError::from(other);
                tracing::warn!(error = %e, "survey form not recorded");
                (e.status_code(), "survey-failed", true, true)
            }
        },
    };
    shown.message = Some(komek_i18n::t(lang, key));
    shown.alert = alert;
    if !keep_form {
        shown.action = None;
    }
    Ok(page(status, &shown))
}

#[cfg(test)]
mod tests {
    use komek_domain::{RequestId, RequestNumber};
    use time::OffsetDateTime;

    use super::*;

    fn survey(lang: Lang) -> Survey {
        let now = OffsetDateTime::now_utc();
        Survey {
            id: uuid::Uuid::new_v4(),
            request_id: RequestId::new(),
            number: RequestNumber::format("KM", 7),
            language: lang,
            created_at: now,
            expires_at: now,
            answer: None,
            trace: None,
        }
    }

    #[test]
    fn the_page_is_a_plain_form_with_no_code_and_escaped_values() {
        let s = survey(Lang::Ru);
        let mut p = survey_page(&s, "tok_en-123");
        p.comment = "</textarea><script>x</script>";
        let html = p.render().unwrap_or_default();
        assert!(html.contains(r#"action="/s/tok_en-123""#), "{html}");
        assert!(!html.contains("</textarea><"), "{html}");
        assert!(
            html.contains("&#60;/textarea&#62;&#60;script&#62;"),
            "{html}"
        );
        for bad in [
            "<script",
            " style=",
            "<style",
            " onclick=",
            "http://",
            "https://",
        ] {
            assert!(!html.contains(bad), "{bad}: {html}");
        }
    }

    #[test]
    fn no_kazakh_survey_page_shows_english_text() {
        // The customer pages' messages (the staff pages' texts never appear on them).
        let english = komek_i18n::english_only(&["survey-", "web-"]);
        assert!(!english.is_empty());
        let s = survey(Lang::Kk);
        let mut pages = vec![survey_page(&s, "t").render().unwrap_or_default()];
        for key in [
            "survey-pick",
            "survey-thanks",
            "survey-done",
            "survey-failed",
            "survey-comment-long",
        ] {
            let mut p = survey_page(&s, "t");
            p.message = Some(komek_i18n::t(Lang::Kk, key));
            pages.push(p.render().unwrap_or_default());
        }
        for text in &english {
            for page in &pages {
                assert!(!page.contains(text.as_str()), "{text:?} on a Kazakh page");
            }
        }
    }
}
