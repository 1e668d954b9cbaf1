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

use actix_web::http::Method;
use actix_web::web;
use komek_web::ApiError;
use komek_web::access::{Access, Rule, rule};
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

/// Who may call each route this service mounts (besides the shared ones): the one access table
/// (`komek_web::access`), enforced before every handler and written into `/openapi.json`.
/// The handlers check the object part: `Department` and `DepartmentOrSupervisor` are the staff
/// of the department that owns the escalation or problem, `Head` that department's head.
pub fn access() -> Vec<Rule> {
    use Access::*;
    use Method as M;
    let mut v = page::PAGE.rules();
    v.extend(komek_auth::login::rules());
    v.extend([
        rule(M::GET, "/api/v1/live", DepartmentOrSupervisor),
        rule(M::POST, "/api/v1/problems", Staff),
        rule(M::GET, "/api/v1/problems", Staff),
        rule(M::GET, "/api/v1/problems/{id}", Staff),
        rule(M::POST, "/api/v1/problems/{id}/requests", Staff),
        rule(
            M::DELETE,
            "/api/v1/problems/{id}/requests/{number}",
            DepartmentOrSupervisor,
        ),
        rule(
            M::POST,
            "/api/v1/problems/{id}/confirm",
            DepartmentOrSupervisor,
        ),
        rule(
            M::POST,
            "/api/v1/problems/{id}/dismiss",
            DepartmentOrSupervisor,
        ),
        rule(
            M::POST,
            "/api/v1/problems/{id}/resolve",
            DepartmentOrSupervisor,
        ),
        rule(
            M::GET,
            "/api/v1/escalations/{id}/context",
            DepartmentOrSupervisor,
        ),
        rule(M::GET, "/api/v1/escalations", DepartmentOrSupervisor),
        rule(M::GET, "/api/v1/escalations/{id}", DepartmentOrSupervisor),
        rule(M::POST, "/api/v1/escalations/{id}/accept", Department),
        rule(M::POST, "/api/v1/escalations/{id}/request-info", Department),
        rule(M::POST, "/api/v1/escalations/{id}/answer", Department),
        rule(M::POST, "/api/v1/escalations/{id}/reject", Department),
        rule(M::GET, "/api/v1/department/stats", Head),
        rule(M::GET, "/api/v1/quality/bounced", Supervisor),
        rule(M::GET, "/api/v1/departments", Staff),
        rule(M::GET, "/api/v1/departments/{code}", Staff),
        rule(M::PUT, "/api/v1/departments/{code}", Head),
        rule(
            M::GET,
            "/api/v1/departments/{code}/staff",
            DepartmentOrSupervisor,
        ),
        rule(M::PUT, "/api/v1/staff/{login}", Head),
    ]);
    v
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
        Err(e) if required => Err(ApiError::invalid(field, e.required(max))),
        Err(e) => Err(ApiError::invalid(field, e.to_string())),
    }
}
