//! The survey's public contract: the page and the one answer.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use komek_domain::events::{SurveyAnswered, kind};
use komek_domain::survey::{Survey, SurveyError};
use komek_store::Store;
use komek_store::requests::UpdateError;
use komek_web::access::{Access, Rule, rule};
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

use crate::token_hash;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "komek-survey",
        description = "Feedback surveys after a resolved request."
    ),
    paths(page, answer_form, respond),
    components(schemas(ResponseIn, Recorded, komek_web::error::Problem))
)]
pub struct ApiDoc;

/// Who may call each route this service mounts (besides the shared ones): the one access table
/// (`komek_web::access`), enforced before every handler and written into `/openapi.json`.
/// The survey's token is the customer's secret (the handlers answer 404 without a valid one).
pub fn access() -> Vec<Rule> {
    use Access::*;
    use Method as M;
    let mut v = komek_web::html::rules();
    v.extend([
        rule(M::GET, "/s/{token}", Customer),
        rule(M::POST, "/s/{token}", Customer),
        rule(M::POST, "/api/v1/surveys/{token}/responses", Customer),
    ]);
    v
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/s/{token}", web::get().to(page))
        .route("/s/{token}", web::post().to(answer_form))
        .configure(komek_web::html::configure)
        .route("/api/v1/surveys/{token}/responses", web::post().to(respond));
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseIn {
    /// Customer satisfaction, 1 (very bad) to 5 (very good).
    #[schema(minimum = 1, maximum = 5)]
    pub csat: u8,
    #[serde(default)]
    #[schema(format = "text-or-blank", max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    pub status: String,
}

fn well_formed(token: &str) -> bool {
    (20..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) async fn open_survey(store: &Store, token: &str) -> Result<Option<Survey>, ApiError> {
    if !well_formed(token) {
        return Ok(None);
    }
    Ok(store
        .survey(&token_hash(token))
        .await?
        .filter(|s| s.is_open(OffsetDateTime::now_utc())))
}

/// The survey page, in the customer's language: a form that posts back to `/s/{token}`.
#[utoipa::path(get, path = "/s/{token}", params(("token" = String, Path, description = "The survey link's token")),
    responses((status = 200, description = "HTML page", content_type = "text/html"), (status = 404, description = "Unknown or expired", content_type = "text/html")))]
pub async fn page(
    store: web::Data<Store>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    crate::page::show(store, token).await
}

/// `POST /s/{token}`, the survey page's form (`application/x-www-form-urlencoded`: `csat`,
/// `comment`): the same answer as the JSON API, answered with the page and its message (200
/// thanks, 409 already answered, 422 what to correct, 404 unknown or expired).
#[utoipa::path(post, path = "/s/{token}", params(("token" = String, Path, description = "The survey link's token")),
    request_body(content = crate::page::AnswerForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The page, thanking", content_type = "text/html"),
        (status = 404, description = "Unknown or expired", content_type = "text/html"),
        (status = 409, description = "Already answered", content_type = "text/html"),
        (status = 422, description = "The page, saying what to correct", content_type = "text/html")))]
pub async fn answer_form(
    req: actix_web::HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    crate::page::answer(req, body, store, token).await
}

/// Why an answer was not recorded.
#[derive(Debug)]
pub enum Answer {
    /// The field that is wrong (`csat` or `comment`) and why.
    Invalid(&'static str),
    NotFound,
    AlreadyAnswered,
    /// Changed meanwhile: try again.
    Conflict,
    /// Redis failed (or another error the API answers as it is).
    Failed(ApiError),
}

impl From<Answer> for ApiError {
    fn from(a: Answer) -> Self {
        match a {
            Answer::Invalid("csat") => ApiError::invalid("csat", "a whole number from 1 to 5"),
            Answer::Invalid(_) => ApiError::invalid("comment", "at most 2000 characters"),
            Answer::NotFound => ApiError::NotFound("survey"),
            Answer::AlreadyAnswered => ApiError::Conflict(
                Code::AlreadyAnswered,
                "this survey is already answered".into(),
            ),
            Answer::Conflict => ApiError::Conflict(
                Code::Contended,
                "the survey changed while saving; try again".into(),
            ),
            Answer::Failed(e) => e,
        }
    }
}

/// Records the one answer of the survey behind `token`: the JSON API and the page's form.
pub async fn record(
    store: &Store,
    token: &str,
    csat: u8,
    comment: Option<&str>,
) -> Result<(), Answer> {
    if !(1..=5).contains(&csat) {
        return Err(Answer::Invalid("csat"));
    }
    let comment = komek_domain::text::BoundedText::<2000>::optional(comment.unwrap_or(""))
        .map_err(|_| Answer::Invalid("comment"))?
        .map(String::from);
    if open_survey(store, token)
        .await
        .map_err(Answer::Failed)?
        .is_none()
    {
        return Err(Answer::NotFound);
    }
    let now = OffsetDateTime::now_utc();
    let result = store
        .update_doc(
            &store.keys().survey(&token_hash(token)),
            |s: &mut Survey| {
                s.answer(csat, comment.clone(), now)?;
                let payload = SurveyAnswered {
                    survey_id: s.id,
                    csat,
                    comment: comment.clone(),
                };
                let event = komek_bus::journey_event(
                    kind::SURVEY_ANSWERED,
                    s.request_id,
                    s.trace.as_deref(),
                    &payload,
                    now,
                );
                Ok((Some(event), vec![]))
            },
        )
        .await;
    match result {
        Ok(s) => {
            tracing::info!(request_id = %s.request_id, csat, "survey answered");
            Ok(())
        }
        Err(UpdateError::Rejected(SurveyError::AlreadyAnswered)) => Err(Answer::AlreadyAnswered),
        Err(UpdateError::Rejected(SurveyError::Expired)) | Err(UpdateError::NotFound) => {
            Err(Answer::NotFound)
        }
        Err(UpdateError::Store(e)) => Err(Answer::Failed(e.into())),
        Err(_) => Err(Answer::Conflict),
    }
}

/// Answer the survey, once. The workspace reopens the request when the CSAT is at or below its
/// `survey.reopen_at_or_below` setting.
#[utoipa::path(post, path = "/api/v1/surveys/{token}/responses", request_body = ResponseIn,
    responses((status = 201, body = Recorded), (status = 404, body = komek_web::error::Problem),
        (status = 409, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn respond(
    store: web::Data<Store>,
    token: web::Path<String>,
    StrictJson(body): StrictJson<ResponseIn>,
) -> Result<HttpResponse, ApiError> {
    record(&store, &token, body.csat, body.comment.as_deref()).await?;
    Ok(HttpResponse::Created().json(Recorded {
        status: "recorded".into(),
    }))
}
