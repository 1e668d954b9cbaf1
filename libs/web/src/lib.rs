//! What every Komek HTTP service shares.
//!
//! - [`error`]: [`ApiError`], the one code table mapping to HTTP status and `application/problem+json`.
//! - [`body`]: [`StrictJson`], a JSON body extractor that refuses unknown fields and names the bad
//!   field; oversized bodies get 413.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
//! - [`middleware`]: one span per HTTP request (continuing the caller's trace) and request metrics.
//! - [`service`]: the app factory (`Runtime` -> `Application`) every service's `main` and tests use.

pub mod body;
pub mod error;
pub mod middleware;
pub mod ops;
pub mod service;

pub use body::StrictJson;
pub use error::{ApiError, FieldError};
pub use service::{Application, Runtime, StartError, boot};
