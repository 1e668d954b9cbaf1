//! The public API's shared shapes, used by the router's handlers ([`crate::requests`],
//! [`crate::contacts`], [`crate::messages`]): what an accepted request answers, the public status,
//! the contact and token queries, and the `Idempotency-Key` header (a client's keys kept apart
//! from the channels' own).

use actix_web::HttpRequest;
use komek_domain::{Category, Channel, Due, Lang, Message, MessageKind, Priority, Request, Status};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    /// The customer's secret for this request: opens its status (`GET /api/v1/status/{token}`)
    /// and takes their messages (`?token=`) without number and contact. Only its hash is kept, so
    /// it is given here and nowhere else: a new request, or a retry with the same
    /// Idempotency-Key (a fresh token; earlier ones keep working). Absent when the submission was
    /// joined to an open request of the same customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_token: Option<String>,
    /// The status page of `status_token`, to give to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
}

impl Accepted {
    /// With the status token (and its page) when there is one.
    pub fn with_status(mut self, settings: &Settings, token: Option<String>) -> Self {
        self.status_url = token.as_deref().map(|t| settings.web.status_link(t));
        self.status_token = token;
        self
    }
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
            status_token: None,
            status_url: None,
        }
    }
}

/// Where a client's idempotency keys live: apart from the channels' own keys (`sms:{id}`,
/// `email:{sha256}`, `web-form:{uuid}`), none of which starts with it, so a client cannot claim
/// the key of a real SMS or mail before it arrives.
pub const CLIENT_KEYS: &str = "api:";

/// The `Idempotency-Key` header, if any (1-200 visible ASCII characters), as stored: under
/// [`CLIENT_KEYS`].
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
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
    Ok(Some(format!("{CLIENT_KEYS}{key}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// The phone number or email the request was made with.
    #[param(max_length = 254)]
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

impl PublicStatus {
    /// What the customer sees of `r`, with the survey link once it is resolved.
    pub async fn of(store: &Store, settings: &Settings, r: Request) -> Result<Self, ApiError> {
        let survey_url = crate::links::survey_url(store, settings, &r).await?;
        Ok(Self {
            number: r.number.0,
            status: r.status,
            channel: r.channel,
            language: r.language,
            created_at: r.created_at,
            due: r.due,
            messages: r.messages,
            survey_url,
        })
    }
}

/// How a customer names their request to the messages endpoint: the status token, or (the
/// fallback) the contact the request was made with. Exactly one.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// The phone number or email the request was made with.
    #[serde(default)]
    #[param(max_length = 254)]
    pub contact: Option<String>,
    /// The status token given with the acknowledgment (`status_token`).
    #[serde(default)]
    pub token: Option<String>,
}
