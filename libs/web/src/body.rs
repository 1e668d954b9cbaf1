//! Strict JSON bodies: the size limit gives 413, a wrong content type 415, and a body that does not
//! fit the type (unknown field, missing field, wrong type) a 400 naming the field by its path.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body this app accepts; registered as app data by each service.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for StrictJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map(|b| b.0).unwrap_or(65536);
        let json_ct = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            })
            .unwrap_or(false);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::TooLarge { limit });
            }
            if !json_ct {
                return Err(ApiError::UnsupportedMediaType("application/json"));
            }
            let bytes =
                body.await
                    .map_err(|e| match e.as_response_error().status_code().as_u16() {
                        413 => ApiError::TooLarge { limit },
                        _ => ApiError::BadRequest {
                            field: None,
                            message: format!("the body could not be read: {e}"),
                        },
                    })?;
            if bytes.len() > limit {
                return Err(ApiError::TooLarge { limit });
            }
            let mut value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest {
                    field: None,
                    message: e.to_string(),
                })?;
            whole_numbers(&mut value);
            serde_path_to_error::deserialize(value)
                .map(StrictJson)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let inner = e.into_inner();
                    let msg = inner.to_string();
                    let named = named_field(&msg);
                    let field = match (path.as_str(), named) {
                        (".", Some(n)) => Some(n),
                        (p, Some(n)) if msg.starts_with("missing field") => {
                            Some(format!("{p}.{n}"))
                        }
                        (".", None) => None,
                        (p, _) => Some(p.to_owned()),
                    };
                    let message = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                    ApiError::BadRequest { field, message }
                })
        })
    }
}

/// JSON does not tell `4` from `4.0` (JSON Schema calls both an integer), but serde's integer
/// types refuse the second: every number with no fraction becomes the integer it is.
fn whole_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact: |f| < 2^53.
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i64;
                *v = serde_json::Value::from(i);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// serde names unknown and missing fields in its message; lift the name out.
fn named_field(msg: &str) -> Option<String> {
    msg.split('`')
        .nth(1)
        .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
        .map(str::to_owned)
}

/// Registers the body limit for [`StrictJson`] and actix's own payload extractors, and makes query
/// and path errors problem+json like every other error.
pub fn limits(cfg: &mut web::ServiceConfig, limit: usize) {
    cfg.app_data(BodyLimit(limit))
        .app_data(web::PayloadConfig::new(limit))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            let message = match &err {
                actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
                other => other.to_string(),
            };
            ApiError::BadRequest {
                field: named_field(&message),
                message: format!("query string: {message}"),
            }
            .into()
        }))
        .app_data(web::PathConfig::default().error_handler(|err, _| {
            ApiError::BadRequest {
                field: None,
                message: format!("path: {err}"),
            }
            .into()
        }));
}
