//! The survey's public contract: the page and the one answer.

use actix_web::{HttpResponse, web};
use komek_domain::events::{SurveyAnswered, kind};
use komek_domain::survey::{Survey, SurveyError};
use komek_store::Store;
use komek_store::requests::UpdateError;
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
    paths(page, respond),
    components(schemas(ResponseIn, Recorded, komek_web::error::Problem))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/s/{token}", web::get().to(page))
        .route("/api/v1/surveys/{token}/responses", web::post().to(respond));
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseIn {
    /// Customer satisfaction, 1 (very bad) to 5 (very good).
    pub csat: u8,
    #[serde(default)]
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

async fn open_survey(store: &Store, token: &str) -> Result<Option<Survey>, ApiError> {
    if !well_formed(token) {
        return Ok(None);
    }
    Ok(store
        .survey(&token_hash(token))
        .await?
        .filter(|s| s.is_open(OffsetDateTime::now_utc())))
}

/// The survey page, in the customer's language.
#[utoipa::path(get, path = "/s/{token}", responses((status = 200, description = "HTML page"), (status = 404, description = "Unknown or expired")))]
pub async fn page(
    store: web::Data<Store>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let html = |status: actix_web::http::StatusCode, body: String| {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header(("Cache-Control", "no-store"))
            .body(body)
    };
    match open_survey(&store, &token).await? {
        Some(s) => Ok(html(
            actix_web::http::StatusCode::OK,
            crate::page::survey(&s, &token),
        )),
        None => Ok(html(
            actix_web::http::StatusCode::NOT_FOUND,
            crate::page::not_found(),
        )),
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
    if !(1..=5).contains(&body.csat) {
        return Err(ApiError::invalid("csat", "a whole number from 1 to 5"));
    }
    let comment =
        komek_domain::text::BoundedText::<2000>::optional(body.comment.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::invalid("comment", e.to_string()))?
            .map(String::from);
    if open_survey(&store, &token).await?.is_none() {
        return Err(ApiError::NotFound("survey"));
    }
    let now = OffsetDateTime::now_utc();
    let result = store
        .update_doc(
            &store.keys().survey(&token_hash(&token)),
            |s: &mut Survey| {
                s.answer(body.csat, comment.clone(), now)?;
                let payload = SurveyAnswered {
                    survey_id: s.id,
                    csat: body.csat,
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
            tracing::info!(request_id = %s.request_id, csat = body.csat, "survey answered");
            Ok(HttpResponse::Created().json(Recorded {
                status: "recorded".into(),
            }))
        }
        Err(UpdateError::Rejected(SurveyError::AlreadyAnswered)) => Err(ApiError::Conflict(
            Code::AlreadyAnswered,
            "this survey is already answered".into(),
        )),
        Err(UpdateError::Rejected(SurveyError::Expired)) | Err(UpdateError::NotFound) => {
            Err(ApiError::NotFound("survey"))
        }
        Err(UpdateError::Store(e)) => Err(e.into()),
        Err(_) => Err(ApiError::Conflict(
            Code::Contended,
            "the survey changed while saving; try again".into(),
        )),
    }
}
