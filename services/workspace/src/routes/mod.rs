//! The workspace's HTTP contract.
//!
//! - [`auth`]: `POST /api/v1/auth/login`.
//! - [`work`]: the queue and the actions on one request.

pub mod auth;
pub mod work;

use actix_web::web;
use utoipa::OpenApi;

pub use auth::DummyHash;

#[derive(OpenApi)]
#[openapi(
    info(title = "komek-workspace", description = "Agents' workspace: login, queue, working requests."),
    paths(auth::login, work::queue, work::next, work::get_request, work::reply, work::note, work::escalate, work::resolve, work::departments),
    components(schemas(
        auth::Login, auth::LoginOk, work::Text, work::EscalationIn, work::ResolveIn, work::QueueView, work::RequestView,
        work::Escalated, komek_domain::Request, komek_domain::HistoryEntry, komek_domain::staff::Department,
        komek_web::error::Problem
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
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/auth/login", web::post().to(auth::login))
        .route("/api/v1/queue", web::get().to(work::queue))
        .route("/api/v1/queue/next", web::post().to(work::next))
        .route("/api/v1/departments", web::get().to(work::departments))
        .route("/api/v1/requests/{id}", web::get().to(work::get_request))
        .route("/api/v1/requests/{id}/replies", web::post().to(work::reply))
        .route("/api/v1/requests/{id}/notes", web::post().to(work::note))
        .route("/api/v1/requests/{id}/escalations", web::post().to(work::escalate))
        .route("/api/v1/requests/{id}/resolve", web::post().to(work::resolve));
}
