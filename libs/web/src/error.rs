//! The error code table: every error a client can see, its HTTP status and its problem type.
//! Causes are logged here with their chain; the client sees only the safe message.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One bad field of a request body or query.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("sign in first: {0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("this Idempotency-Key was already used with another request body")]
    IdempotencyMismatch,
    #[error("the service cannot reach its data store; try again shortly")]
    Unavailable,
    #[error("something went wrong on our side; it has been logged")]
    Internal,
}

struct Row {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
}

impl ApiError {
    /// The table: stable code, status, title.
    fn row(&self) -> Row {
        let (status, code, title) = match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request", "Bad request"),
            ApiError::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                "Invalid fields",
            ),
            ApiError::TooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Body too large")
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key reused",
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        };
        Row {
            status,
            code,
            title,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// Logs the full cause chain of an unexpected error and returns the opaque 500.
    pub fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = e, "internal error");
        ApiError::Internal
    }
}

impl From<komek_store::StoreError> for ApiError {
    fn from(e: komek_store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = &e as &dyn std::error::Error, "store unavailable");
            ApiError::Unavailable
        } else {
            ApiError::internal(&e)
        }
    }
}

/// The problem+json body (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.row().status
    }

    fn error_response(&self) -> HttpResponse {
        let row = self.row();
        let errors = match self {
            ApiError::Invalid(e) => e.clone(),
            ApiError::BadRequest {
                field: Some(f),
                message,
            } => {
                vec![FieldError {
                    field: f.clone(),
                    message: message.clone(),
                }]
            }
            _ => Vec::new(),
        };
        let problem = Problem {
            kind: format!("https://komek.kz/problems/{}", row.code),
            title: row.title.to_owned(),
            status: row.status.as_u16(),
            detail: self.to_string(),
            code: row.code.to_owned(),
            errors,
        };
        let mut res = HttpResponse::build(row.status);
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if matches!(self, ApiError::Unavailable) {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("2")));
        }
        res.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<komek_store::requests::UpdateError<ApiError>> for ApiError {
    fn from(e: komek_store::requests::UpdateError<ApiError>) -> Self {
        ApiError::from_update(e, "request")
    }
}

impl ApiError {
    /// A failed versioned write of a `what` (`request`, `problem`, ...): 404 naming it when the
    /// document is gone, the rejection as it is, 409 for a repeat or a write that kept losing.
    pub fn from_update(
        e: komek_store::requests::UpdateError<ApiError>,
        what: &'static str,
    ) -> Self {
        use komek_store::requests::UpdateError as U;
        match e {
            U::NotFound => ApiError::NotFound(what),
            U::Rejected(e) => e,
            U::Duplicate | U::Precondition(_) => ApiError::Conflict("this was already done".into()),
            U::Contended => ApiError::Conflict("it changed while we were saving; try again".into()),
            U::Store(e) => e.into(),
        }
    }
}

impl From<komek_domain::TransitionError> for ApiError {
    fn from(e: komek_domain::TransitionError) -> Self {
        ApiError::Conflict(e.to_string())
    }
}
