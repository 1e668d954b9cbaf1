//! intake's public HTTP contract.

use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::calendar::Calendar;
use komek_domain::{Category, Channel, Due, Lang, Message, MessageKind, Priority, Request, Status};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, StrictJson};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::intake::{self, Submission};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "komek-intake",
        description = "Customer requests in, and their public status."
    ),
    paths(
        create_request,
        public_status,
        crate::messages::post_message,
        crate::contacts::log_contact
    ),
    components(schemas(
        crate::messages::MessageIn,
        crate::contacts::ContactIn,
        crate::messages::MessageAccepted,
        Submission,
        Accepted,
        Acknowledgment,
        PublicStatus,
        komek_web::error::Problem
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/requests", web::post().to(create_request))
        .route(
            "/api/v1/requests/{number}/public",
            web::get().to(public_status),
        )
        .route(
            "/api/v1/requests/{number}/messages",
            web::post().to(crate::messages::post_message),
        )
        .route(
            "/api/v1/contacts",
            web::post().to(crate::contacts::log_contact),
        )
        .configure(crate::pages::configure);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Acknowledgment {
    pub channel: Channel,
    pub text: String,
}

/// What the caller gets back for an accepted request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub id: String,
    pub number: String,
    pub status: Status,
    pub language: Lang,
    pub category: Category,
    pub priority: Priority,
    pub due: Due,
    pub acknowledgment: Acknowledgment,
}

impl From<&Request> for Accepted {
    fn from(r: &Request) -> Self {
        let text = r
            .messages
            .iter()
            .find(|m| m.kind == MessageKind::Acknowledgment)
            .map(|m| m.text.clone())
            .unwrap_or_default();
        Self {
            id: r.id.to_string(),
            number: r.number.0.clone(),
            status: r.status,
            language: r.language,
            category: r.category,
            priority: r.priority,
            due: r.due.clone(),
            acknowledgment: Acknowledgment {
                channel: r.channel,
                text,
            },
        }
    }
}

pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = v.to_str().map_err(|_| ApiError::BadRequest {
        field: Some("Idempotency-Key".into()),
        message: "must be visible ASCII".into(),
    })?;
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::BadRequest {
            field: Some("Idempotency-Key".into()),
            message: "must be 1-200 visible ASCII characters".into(),
        });
    }
    Ok(Some(key.to_owned()))
}

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
    if let Some(l) = crate::antispam::api_request(&store, &settings, &body, key.as_deref()).await? {
        return Ok(crate::antispam::problem(l));
    }
    match intake::accept(&store, &settings, &calendar, &body, key.as_deref()).await? {
        Created::New(r) => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/api/v1/requests/{}/public", r.number)))
            .json(Accepted::from(&r))),
        Created::Replayed(r) => Ok(HttpResponse::Ok().json(Accepted::from(&r))),
        Created::KeyReused => Err(ApiError::IdempotencyMismatch),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// The phone number or email the request was made with.
    pub contact: String,
}

/// What a customer may see of their request: no notes, no staff names.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicStatus {
    pub number: String,
    pub status: Status,
    pub channel: Channel,
    pub language: Lang,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    pub due: Due,
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survey_url: Option<String>,
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
