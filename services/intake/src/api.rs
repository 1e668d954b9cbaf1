//! The public API's shared shapes, used by the router's handlers ([`crate::requests`],
//! [`crate::contacts`], [`crate::messages`]): what an accepted request answers, the public status,
//! the contact query, and the `Idempotency-Key` header.

use actix_web::HttpRequest;
use komek_domain::{Category, Channel, Due, Lang, Message, MessageKind, Priority, Request, Status};
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

/// The `Idempotency-Key` header, if any: 1-200 visible ASCII characters.
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
    Ok(Some(key.to_owned()))
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
