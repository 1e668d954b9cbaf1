//! `POST /api/v1/requests` (idempotent acceptance, acknowledgment in the customer's language)
//! and `GET /api/v1/requests/{number}/public` (status for the customer).

use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::Status;
use komek_domain::calendar::Calendar;
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, StrictJson};

use crate::api::{Accepted, ContactQuery, PublicStatus, idempotency_key};
use crate::intake::{self, Submission, Valid};

/// Accept a customer request.
///
/// The same `Idempotency-Key` with the same body returns the first request (200); with another body, 422.
#[utoipa::path(
    post, path = "/api/v1/requests", request_body = Submission,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, body = Accepted, description = "Accepted"),
        (status = 200, body = Accepted, description = "Seen before with this Idempotency-Key"),
        (status = 400, body = komek_web::error::Problem), (status = 413, body = komek_web::error::Problem),
        (status = 422, body = komek_web::error::Problem), (status = 429, body = komek_web::error::Problem),
        (status = 503, body = komek_web::error::Problem),
    )
)]
pub async fn create_request(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    calendar: web::Data<Calendar>,
    StrictJson(body): StrictJson<Submission>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    // Checked once: the rate limit and the acceptance both use the validated submission.
    let valid = Valid::try_from(&body)?;
    if let Some(l) =
        crate::antispam::api_request(&store, &settings, &req, &valid.customer, key.as_deref())
            .await?
    {
        return Ok(crate::antispam::problem(l));
    }
    match intake::accept_as(&store, &settings, &calendar, &valid, key.as_deref(), None).await? {
        Created::New(r) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/requests/{}/public", r.number)))
            .json(Accepted::from(&r))),
        Created::Replayed(r) => Ok(HttpResponse::Ok().json(Accepted::from(&r))),
        Created::KeyReused => Err(ApiError::IdempotencyMismatch),
    }
}

/// Public status of a request, for the customer who made it.
///
/// A wrong contact answers exactly like an unknown number.
#[utoipa::path(
    get, path = "/api/v1/requests/{number}/public",
    params(("number" = String, Path, description = "e.g. KM-000123"), ContactQuery),
    responses((status = 200, body = PublicStatus), (status = 404, body = komek_web::error::Problem))
)]
pub async fn public_status(
    path: web::Path<String>,
    query: web::Query<ContactQuery>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let number = path.into_inner();
    let not_found = ApiError::NotFound("request");
    if number.len() > 32 {
        return Err(not_found);
    }
    let Some(r) = store.request_by_number(&number).await? else {
        return Err(not_found);
    };
    if !r.customer.has_contact(&query.contact) {
        return Err(not_found);
    }
    let survey_url = match store
        .get_string(&store.keys().survey_of_request(r.id))
        .await?
    {
        Some(token) if r.status == Status::Resolved || r.status == Status::Closed => {
            Some(settings.survey.link(&token))
        }
        _ => None,
    };
    Ok(HttpResponse::Ok().json(PublicStatus {
        number: r.number.0,
        status: r.status,
        channel: r.channel,
        language: r.language,
        created_at: r.created_at,
        due: r.due,
        messages: r.messages,
        survey_url,
    }))
}
