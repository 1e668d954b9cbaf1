//! The escalation service's HTTP surface, one module per concern; each has its own `configure` and
//! OpenAPI fragment, merged here.
//!
//! - [`escalations`]: the department's queue and the lifecycle actions on one escalation.
//! - [`admin`]: departments (hours, deadlines) and their staff (levels), for supervisors and heads.
//! - [`problems`]: problem records: open, link requests, resolve; spike candidates.
//! - [`page`]: the department staff's web page and the sign-in it uses.

pub mod admin;
pub mod escalations;
pub mod page;
pub mod problems;

use actix_web::web;
use komek_web::ApiError;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(info(
    title = "komek-escalation",
    description = "Departments: escalations with their own deadlines, problem records, spike candidates."
))]
struct Root;

/// The merged OpenAPI document of every module.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(escalations::ApiDoc::openapi());
    doc.merge(admin::ApiDoc::openapi());
    doc.merge(problems::ApiDoc::openapi());
    doc.merge(page::ApiDoc::openapi());
    doc
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    escalations::configure(cfg);
    admin::configure(cfg);
    problems::configure(cfg);
    page::configure(cfg);
}

/// A text field trimmed, of at most `max` characters (and at least one if `required`); 422 naming
/// `field` otherwise.
fn bounded(field: &str, raw: &str, max: usize, required: bool) -> Result<String, ApiError> {
    use komek_domain::text::{TextError, bounded};
    match bounded(raw, max) {
        Ok(t) => Ok(t),
        Err(TextError::Empty) if !required => Ok(String::new()),
        Err(_) if required => Err(ApiError::invalid(field, TextError::range(max))),
        Err(e) => Err(ApiError::invalid(field, e.to_string())),
    }
}
