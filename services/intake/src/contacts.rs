//! Calls and visits: an agent in the call centre or at a front-office desk logs the contact as a
//! request on the customer's behalf, and may record that it was solved there and then
//! (first-contact resolution). The customer is answered by SMS like any phone or desk request.

use actix_web::{HttpRequest, HttpResponse, web};
use komek_auth::Staff;
use komek_domain::calendar::Calendar;
use komek_domain::{Category, Channel, Lang};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use komek_web::{ApiError, StrictJson};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::Accepted;
use crate::intake::{self, CustomerIn, Logged, Submission};

/// The body of `POST /api/v1/contacts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// `call_center` or `front_office`.
    #[schema(value_type = OfficeChannel)]
    pub channel: Channel,
    pub customer: CustomerIn,
    /// One line; controls are removed.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    /// What the customer asked, in the agent's words (controls other than newline and tab are
    /// removed; then not blank).
    #[schema(format = "loose-text", max_length = 10000)]
    pub text: String,
    #[serde(default)]
    pub language: Option<Lang>,
    /// The agent's category; classified from the text when absent.
    #[serde(default)]
    pub category: Option<Category>,
    /// Solved during the contact: the request is resolved at once with this resolution.
    #[serde(default)]
    #[schema(format = "text", max_length = 10000)]
    pub resolution: Option<String>,
}

/// The channels an agent logs a contact from (a subset of `Channel`).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum OfficeChannel {
    CallCenter,
    FrontOffice,
}

/// Log a call or a visit as a request owned by the calling agent.
#[utoipa::path(post, path = "/api/v1/contacts", request_body = ContactIn, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,200}$", description = "Makes retries safe: 1-200 visible ASCII characters, unique per request (a key used again with another body is 422)")),
    responses((status = 201, body = Accepted), (status = 200, body = Accepted), (status = 401, body = komek_web::error::Problem),
        (status = 403, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn log_contact(
    req: HttpRequest,
    staff: Staff,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    calendar: web::Data<Calendar>,
    StrictJson(body): StrictJson<ContactIn>,
) -> Result<HttpResponse, ApiError> {
    staff.require_agent()?;
    if !matches!(body.channel, Channel::CallCenter | Channel::FrontOffice) {
        return Err(ApiError::invalid("channel", "call_center or front_office"));
    }
    let resolution = match body.resolution.as_deref() {
        Some(r) => Some(
            komek_domain::text::BoundedText::<10_000>::parse(r)
                .map_err(|e| match e {
                    komek_domain::text::TextError::Empty => {
                        ApiError::invalid("resolution", "must not be empty when given")
                    }
                    e => ApiError::invalid("resolution", e.to_string()),
                })?
                .into_string(),
        ),
        None => None,
    };
    let submission = Submission {
        channel: body.channel,
        customer: body.customer,
        subject: body.subject,
        text: body.text,
        language: body.language,
    };
    let logged = Logged {
        agent: staff.login().to_owned(),
        category: body.category,
        resolution,
    };
    let key = crate::api::idempotency_key(&req)?;
    match intake::accept_as(
        &store,
        &settings,
        &calendar,
        &intake::Valid::try_from(&submission)?,
        key.as_deref(),
        Some(&logged),
    )
    .await?
    {
        Created::New(r) => {
            tracing::info!(request_id = %r.id, agent = staff.login(), first_contact = logged.resolution.is_some(), "contact logged");
            Ok(HttpResponse::Created().json(Accepted::from(&r)))
        }
        Created::Replayed(r) => Ok(HttpResponse::Ok().json(Accepted::from(&r))),
        Created::KeyReused => Err(ApiError::IdempotencyMismatch),
    }
}
