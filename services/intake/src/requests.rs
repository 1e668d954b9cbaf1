//! `POST /api/v1/requests` (idempotent acceptance, acknowledgment in the customer's language,
//! the status token), `GET /api/v1/requests/{number}/public` (status for the customer, by number
//! and contact) and `GET /api/v1/status/{token}` (the same, by status token).

use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::calendar::Calendar;
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, StrictJson};

use crate::api::{Accepted, ContactQuery, PublicStatus, idempotency_key};
use crate::intake::{self, Submission, Valid};
use crate::{links, lookup};

/// Accept a customer request.
///
/// The same `Idempotency-Key` with the same body returns the first request (200); with another body, 422.
/// The answer carries `status_token` and `status_url`, the customer's secret way to the request's
/// status; a retry with the same key gets a fresh one.
#[utoipa::path(
    post, path = "/api/v1/requests", request_body = Submission,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,200}$", description = "Makes retries safe: 1-200 visible ASCII characters, unique per request (a key used again with another body is 422)")),
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
    let created =
        intake::accept_as(&store, &settings, &calendar, &valid, key.as_deref(), None).await?;
    let token = links::status_token_for(&store, &created, key.as_deref()).await?;
    match created {
        Created::New(r) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/requests/{}/public", r.number)))
            .json(Accepted::from(&r).with_status(&settings, token))),
        Created::Replayed(r) => {
            Ok(HttpResponse::Ok().json(Accepted::from(&r).with_status(&settings, token)))
        }
        Created::KeyReused => Err(ApiError::IdempotencyMismatch),
    }
}

/// Public status of a request, for the customer who made it.
///
/// A wrong contact answers exactly like an unknown number. Lookups that match nothing are
/// limited per client address, per number and per contact (`web.lookup_failures_per_*`): past a
/// limit, 429 with Retry-After until the window ends. The status token
/// (`GET /api/v1/status/{token}`) is the customer's way that no guesser can lock.
#[utoipa::path(
    get, path = "/api/v1/requests/{number}/public",
    params(("number" = String, Path, description = "e.g. KM-000123"), ContactQuery),
    responses(
        (status = 200, body = PublicStatus),
        (status = 400, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem),
        (status = 429, body = komek_web::error::Problem), (status = 503, body = komek_web::error::Problem),
    )
)]
pub async fn public_status(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ContactQuery>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let r = lookup::by_contact(&store, &settings, &req, &path, &query.contact)
        .await?
        .into_api()?;
    Ok(HttpResponse::Ok().json(PublicStatus::of(&store, &settings, r).await?))
}

/// Public status of a request, by the status token its customer was given.
///
/// An unknown token is 404 and counts as a failed lookup of the client's address; past
/// `web.lookup_failures_per_address`, 429 with Retry-After. A right token always answers.
#[utoipa::path(
    get, path = "/api/v1/status/{token}",
    params(("token" = String, Path, description = "`status_token` from the acknowledgment (43 URL-safe characters)")),
    responses(
        (status = 200, body = PublicStatus),
        (status = 404, body = komek_web::error::Problem), (status = 429, body = komek_web::error::Problem),
        (status = 503, body = komek_web::error::Problem),
    )
)]
pub async fn status_by_token(
    req: HttpRequest,
    path: web::Path<String>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let r = lookup::by_token(&store, &settings, &req, &path)
        .await?
        .into_api()?;
    Ok(HttpResponse::Ok().json(PublicStatus::of(&store, &settings, r).await?))
}
