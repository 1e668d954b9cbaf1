//! The workspace's HTTP contract.
//!
//! - [`auth`]: `POST /api/v1/auth/login` (the shared handler of `komek_auth::login`).
//! - [`work`]: the queue and the actions on one request.
//! - [`templates`]: reply templates (supervisors write them; agents get them filled in for a request).
//! - [`search`]: search over requests, and similar resolved requests.
//! - [`supervise`]: presence, reassignment, the supervisors' overview (agents, queues, watch list).
//! - [`page`]: the agents' and supervisors' web page at `/` (with `/app.js`, `/app.css`).
//! - [`customers`]: customer 360 (by request or by contact) and the directory's CSV import.
//! - [`departments`]: answering a department's question on an escalation; problems to link to.

pub mod customers;
pub mod departments;
pub mod page;
pub mod search;
pub mod supervise;
pub mod templates;
pub mod work;

use actix_web::web;
use utoipa::OpenApi;

pub use komek_auth::login as auth;
pub use komek_auth::login::DummyHash;

#[derive(OpenApi)]
#[openapi(
    info(title = "komek-workspace", description = "Agents' workspace: login, queue, working requests."),
    paths(auth::login, work::queue, work::next, work::get_request, work::reply, work::note, work::escalate, work::resolve, work::departments, templates::list, templates::create, templates::replace, templates::delete, templates::for_request, search::search, search::similar, supervise::presence, supervise::reassign, supervise::overview, supervise::accept_offer, supervise::decline_offer, supervise::my_offers, customers::for_request, customers::by_contact, customers::import, departments::give_info, departments::problems, departments::link),
    components(schemas(
        auth::Login, auth::LoginOk, work::Text, work::ReplyIn, work::EscalationIn, work::ResolveIn, work::QueueView, work::RequestView,
        work::Escalated, supervise::PresenceIn, supervise::PresenceOut, supervise::ReassignIn, supervise::AgentState,
        supervise::QueueStat, supervise::SupervisorView, komek_domain::staff::Presence, komek_domain::Request, komek_domain::HistoryEntry, komek_domain::staff::Department,
        templates::TemplateIn, templates::RenderedTemplate, komek_domain::template::Template, search::SearchView, search::SimilarView,
        komek_web::error::Problem,
        komek_customers::CustomerView, komek_customers::Profile, komek_customers::Movement, komek_customers::Service,
        komek_customers::history::RequestSummary, komek_customers::ImportReport, komek_customers::RejectedLine,
        departments::ProblemIn, departments::ProblemLink, komek_domain::problem::Problem, komek_domain::ProblemRef, komek_domain::EscalationRef
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

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

pub fn configure(cfg: &mut web::ServiceConfig) {
    page::configure(cfg);
    cfg.route("/api/v1/auth/login", web::post().to(auth::login))
        .route("/api/v1/queue", web::get().to(work::queue))
        .route("/api/v1/presence", web::put().to(supervise::presence))
        .route("/api/v1/offers", web::get().to(supervise::my_offers))
        .route(
            "/api/v1/offers/{id}/accept",
            web::post().to(supervise::accept_offer),
        )
        .route(
            "/api/v1/offers/{id}/decline",
            web::post().to(supervise::decline_offer),
        )
        .route("/api/v1/supervisor", web::get().to(supervise::overview))
        .route(
            "/api/v1/requests/{id}/reassign",
            web::post().to(supervise::reassign),
        )
        .route("/api/v1/queue/next", web::post().to(work::next))
        .route("/api/v1/templates", web::get().to(templates::list))
        .route("/api/v1/templates", web::post().to(templates::create))
        .route("/api/v1/templates/{id}", web::put().to(templates::replace))
        .route(
            "/api/v1/templates/{id}",
            web::delete().to(templates::delete),
        )
        .route(
            "/api/v1/requests/{id}/templates",
            web::get().to(templates::for_request),
        )
        .route("/api/v1/search", web::get().to(search::search))
        .route(
            "/api/v1/requests/{id}/similar",
            web::get().to(search::similar),
        )
        .route(
            "/api/v1/requests/{id}/customer",
            web::get().to(customers::for_request),
        )
        .route("/api/v1/customers", web::get().to(customers::by_contact))
        .route(
            "/api/v1/customers/import",
            web::post().to(customers::import),
        )
        .route("/api/v1/departments", web::get().to(work::departments))
        .route("/api/v1/requests/{id}", web::get().to(work::get_request))
        .route("/api/v1/requests/{id}/replies", web::post().to(work::reply))
        .route("/api/v1/requests/{id}/notes", web::post().to(work::note))
        .route(
            "/api/v1/requests/{id}/escalations",
            web::post().to(work::escalate),
        )
        .route(
            "/api/v1/requests/{id}/resolve",
            web::post().to(work::resolve),
        )
        .route(
            "/api/v1/requests/{id}/escalations/{escalation_id}/info",
            web::post().to(departments::give_info),
        )
        .route("/api/v1/problems", web::get().to(departments::problems))
        .route(
            "/api/v1/requests/{id}/problem",
            web::post().to(departments::link),
        );
}
