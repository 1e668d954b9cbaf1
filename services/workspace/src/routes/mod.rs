//! The workspace's HTTP contract.
//!
//! - [`auth`]: `POST /api/v1/auth/login`, `/refresh`, `/logout` and `GET /api/v1/auth/session`
//!   (the shared handlers of `komek_auth::login`).
//! - [`work`]: the queue and the actions on one request.
//! - [`templates`]: reply templates (supervisors write them; agents get them filled in for a request).
//! - [`search`]: search over requests, and similar resolved requests.
//! - [`supervise`]: presence, reassignment, the supervisors' overview (agents, queues, watch list).
//! - [`offers`]: the requests offered to the caller; accepting and declining an offer.
//! - [`page`]: the agents' and supervisors' web page at `/` (with `/app.js`, `/app.css`).
//! - [`customers`]: customer 360 (by request or by contact) and the directory's CSV import.
//! - [`departments`]: the departments to escalate to; answering a department's question.
//! - [`problems`]: the problems to link a request to, and the link.
//! - [`admin`]: staff administration for supervisors (`/api/v1/admin/staff`).
//!
//! Like the escalation service, each module has its `configure` and its OpenAPI fragment
//! (`ApiDoc`), merged here ([`openapi`]); handlers share one state, `web::Data<crate::Deps>`.

pub mod admin;
pub mod customers;
pub mod departments;
pub mod offers;
pub mod page;
pub mod problems;
pub mod search;
pub mod supervise;
pub mod templates;
pub mod work;

use actix_web::http::Method;
use actix_web::web;
use komek_web::access::{Access, Rule, rule};
use utoipa::OpenApi;

pub use komek_auth::login as auth;
pub use komek_auth::login::DummyHash;

#[derive(OpenApi)]
#[openapi(
    info(title = "komek-workspace", description = "Agents' workspace: login, queue, working requests."),
    paths(auth::login, auth::refresh, auth::logout, auth::session),
    components(schemas(
        auth::Login, auth::LoginOk, auth::Refresh, auth::SessionInfo, komek_domain::staff::Presence, komek_domain::Request,
        komek_domain::HistoryEntry, komek_web::error::Problem, komek_domain::problem::Problem,
        komek_domain::ProblemRef, komek_domain::EscalationRef
    )),
    modifiers(&BearerAuth)
)]
struct Root;

/// The merged OpenAPI document of every module (served at `/openapi.json`); each operation is
/// tagged with its module's name.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    for (tag, part) in [
        ("work", work::ApiDoc::openapi()),
        ("departments", departments::ApiDoc::openapi()),
        ("templates", templates::ApiDoc::openapi()),
        ("search", search::ApiDoc::openapi()),
        ("supervise", supervise::ApiDoc::openapi()),
        ("offers", offers::ApiDoc::openapi()),
        ("customers", customers::ApiDoc::openapi()),
        ("problems", problems::ApiDoc::openapi()),
        ("admin", admin::ApiDoc::openapi()),
        ("meta", page::ApiDoc::openapi()),
    ] {
        doc.merge(tagged(part, tag));
    }
    doc
}

fn tagged(mut doc: utoipa::openapi::OpenApi, tag: &str) -> utoipa::openapi::OpenApi {
    for op in komek_web::openapi::operations_mut(&mut doc) {
        op.tags.get_or_insert_with(Vec::new).push(tag.to_owned());
    }
    doc
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Who may call each route this service mounts (besides the shared ones): the one access table
/// (`komek_web::access`), enforced before every handler and written into `/openapi.json`.
/// The handlers check the object part: `Owner` is the request's owner or a supervisor.
pub fn access() -> Vec<Rule> {
    use Access::*;
    use Method as M;
    let mut v = page::PAGE.rules();
    v.extend(komek_auth::login::rules());
    v.extend([
        rule(M::GET, "/api/v1/live", Agent),
        rule(M::PUT, "/api/v1/presence", Agent),
        rule(M::GET, "/api/v1/supervisor", Supervisor),
        rule(M::POST, "/api/v1/requests/{id}/reassign", Supervisor),
        rule(M::GET, "/api/v1/problems", Agent),
        rule(M::POST, "/api/v1/problems/{id}/approve", Supervisor),
        rule(M::POST, "/api/v1/requests/{id}/problem", Owner),
        rule(M::GET, "/api/v1/templates", Agent),
        rule(M::POST, "/api/v1/templates", Supervisor),
        rule(M::PUT, "/api/v1/templates/{id}", Supervisor),
        rule(M::DELETE, "/api/v1/templates/{id}", Supervisor),
        rule(M::GET, "/api/v1/requests/{id}/templates", Agent),
        rule(M::GET, "/api/v1/queue", Agent),
        rule(M::POST, "/api/v1/queue/next", Agent),
        rule(M::GET, "/api/v1/requests/{id}", Agent),
        rule(M::POST, "/api/v1/requests/{id}/replies", Owner),
        rule(M::POST, "/api/v1/requests/{id}/notes", Owner),
        rule(M::POST, "/api/v1/requests/{id}/escalations", Owner),
        rule(M::POST, "/api/v1/requests/{id}/resolve", Owner),
        rule(M::GET, "/api/v1/search", Agent),
        rule(M::GET, "/api/v1/requests/{id}/similar", Agent),
        rule(M::GET, "/api/v1/departments", Staff),
        rule(
            M::POST,
            "/api/v1/requests/{id}/escalations/{escalation_id}/info",
            Owner,
        ),
        rule(M::GET, "/api/v1/offers", Agent),
        // The offer's addressee only (the handler).
        rule(M::POST, "/api/v1/offers/{id}/accept", Owner),
        rule(M::POST, "/api/v1/offers/{id}/decline", Owner),
        rule(M::GET, "/api/v1/requests/{id}/customer", Agent),
        rule(M::GET, "/api/v1/customers", Agent),
        rule(M::POST, "/api/v1/customers/import", Supervisor),
        rule(M::GET, "/api/v1/admin/staff", Admin),
        rule(M::POST, "/api/v1/admin/staff", Admin),
        rule(M::GET, "/api/v1/admin/staff/{login}", Admin),
        rule(M::PATCH, "/api/v1/admin/staff/{login}", Admin),
        rule(M::POST, "/api/v1/admin/staff/{login}/password", Admin),
        rule(M::POST, "/api/v1/admin/staff/{login}/deactivate", Admin),
        rule(M::POST, "/api/v1/admin/staff/{login}/activate", Admin),
    ]);
    v
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    page::configure(cfg);
    auth::configure_sign_in(cfg);
    work::configure(cfg);
    departments::configure(cfg);
    templates::configure(cfg);
    search::configure(cfg);
    supervise::configure(cfg);
    offers::configure(cfg);
    customers::configure(cfg);
    problems::configure(cfg);
    admin::configure(cfg);
}
