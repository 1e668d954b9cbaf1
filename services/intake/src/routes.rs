//! intake's public HTTP contract: the router and the OpenAPI document; the handlers live in
//! their own modules ([`crate::requests`], [`crate::messages`], [`crate::contacts`], [`crate::pages`]).

use actix_web::http::Method;
use actix_web::web;
use komek_web::access::{Access, Rule, rule};
use utoipa::OpenApi;

use crate::api::{Accepted, Acknowledgment, PublicStatus};
use crate::intake::Submission;
use crate::requests::{create_request, public_status, status_by_token};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "komek-intake",
        description = "Customer requests in, and their public status."
    ),
    paths(
        crate::requests::create_request,
        crate::requests::public_status,
        crate::requests::status_by_token,
        crate::messages::post_message,
        crate::contacts::log_contact,
        crate::pages::form::form_page,
        crate::pages::form::submit_form,
        crate::pages::status::status_page,
        crate::pages::status::status_view,
        crate::pages::status::status_by_token,
        crate::pages::status::post_message,
        crate::sms::inbound
    ),
    components(schemas(
        crate::messages::MessageIn,
        crate::contacts::ContactIn,
        crate::messages::MessageAccepted,
        Submission,
        Accepted,
        Acknowledgment,
        PublicStatus,
        komek_web::error::Problem
    ))
)]
pub struct ApiDoc;

/// Who may call each route this service mounts (besides the shared ones): the one access table
/// (`komek_web::access`), enforced before every handler and written into `/openapi.json`.
/// `Customer` routes answer only with the customer's secret (the handlers); `Gateway` only with
/// Kannel's shared secret.
pub fn access() -> Vec<Rule> {
    use Access::*;
    use Method as M;
    let mut v = komek_web::html::rules();
    v.extend([
        rule(M::POST, "/api/v1/requests", Anonymous),
        rule(M::GET, "/api/v1/requests/{number}/public", Customer),
        rule(M::GET, "/api/v1/status/{token}", Customer),
        rule(M::GET, "/status/t/{token}", Customer),
        rule(M::POST, "/api/v1/requests/{number}/messages", Customer),
        rule(M::POST, "/api/v1/contacts", Agent),
        rule(M::GET, "/", Anonymous),
        rule(M::POST, "/form", Anonymous),
        rule(M::GET, "/status", Anonymous),
        rule(M::GET, "/status/view", Customer),
        rule(M::POST, "/status/message", Customer),
        rule(M::GET, crate::sms::INBOUND_PATH, Gateway),
    ]);
    v
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/requests", web::post().to(create_request))
        .route(
            "/api/v1/requests/{number}/public",
            web::get().to(public_status),
        )
        .route("/api/v1/status/{token}", web::get().to(status_by_token))
        .route(
            "/api/v1/requests/{number}/messages",
            web::post().to(crate::messages::post_message),
        )
        .route(
            "/api/v1/contacts",
            web::post().to(crate::contacts::log_contact),
        )
        .configure(crate::pages::configure);
}
