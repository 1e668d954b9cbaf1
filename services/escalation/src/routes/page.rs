//! The department staff's page (`services/escalation/web/`), served at `/`, `/app.js` (the entry
//! module), `/js/*.js` (one module per panel) and `/app.css` with the staff pages' strict policy
//! ([`komek_web::page`]), together with `GET /api/v1/meta` ([`komek_web::meta`]); the sign-in,
//! refresh, sign-out and session routes it uses (the shared handlers of [`komek_auth::login`]); and the one read the page needs beyond the
//! lifecycle routes: an escalation with its request's conversation, history and customer 360.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_auth::login::{self as auth, BearerScheme, Login, LoginOk, Refresh, SessionInfo};
use komek_customers::{CustomerView, Customers, request_customer_view};
use komek_domain::escalation::Escalation;
use komek_domain::{HistoryEntry, Request};
use komek_web::ApiError;
use komek_web::page::SinglePage;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::escalations::readable;
use crate::Deps;

/// One entry of [`SinglePage::modules`]: `web/js/{name}`, served at `/js/{name}`.
macro_rules! module {
    ($name:literal) => {
        ($name, include_str!(concat!("../../web/js/", $name)))
    };
}

pub const PAGE: SinglePage = SinglePage {
    index: include_str!("../../web/index.html"),
    script: include_str!("../../web/app.js"),
    modules: &[
        module!("state.js"),
        module!("queue.js"),
        module!("escalation.js"),
        module!("problems.js"),
        module!("figures.js"),
    ],
    styles: include_str!("../../web/app.css"),
};

#[derive(OpenApi)]
#[openapi(
    paths(
        auth::login,
        auth::refresh,
        auth::logout,
        auth::session,
        context,
        komek_web::meta::meta
    ),
    components(schemas(
        Login,
        LoginOk,
        Refresh,
        SessionInfo,
        EscalationContext,
        CustomerView,
        komek_web::meta::Meta
    )),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    PAGE.configure(cfg);
    auth::configure_sign_in(cfg);
    cfg.route("/api/v1/escalations/{id}/context", web::get().to(context));
}

/// What the department needs to work one escalation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationContext {
    pub escalation: Escalation,
    /// The request, with its customer-visible messages and the agents' notes.
    pub request: Request,
    pub history: Vec<HistoryEntry>,
    /// The customer behind the request (degraded, never failed, when Billing/CRM is down).
    pub customer: CustomerView,
}

/// An escalation with its request's conversation, history and customer 360: department staff of
/// the escalation's department (re-read from the store) or supervisors; 404 otherwise.
#[utoipa::path(get, path = "/api/v1/escalations/{id}/context",
    responses((status = 200, body = EscalationContext), (status = 403, body = komek_web::error::Problem),
        (status = 404, body = komek_web::error::Problem)))]
pub async fn context(
    staff: Staff,
    deps: web::Data<Deps>,
    customers: web::Data<Customers>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let escalation = readable(store, &staff, &id).await?;
    let request = store
        .request(escalation.request_id)
        .await?
        .ok_or(ApiError::NotFound("request"))?;
    let history = store.history(escalation.request_id).await?;
    let customer = request_customer_view(customers.get_ref(), store, &request).await?;
    Ok(HttpResponse::Ok().json(EscalationContext {
        escalation,
        request,
        history,
        customer,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_keeps_to_the_policy_and_has_every_text_and_module() {
        let m = komek_web::meta::meta_codes();
        let labelled: &[(&str, &[String])] = &[
            ("st_", &m.statuses),
            ("cat_", &m.categories),
            ("ch_", &m.channels),
            ("lang_", &m.languages),
            ("est_", &m.escalation_statuses),
            ("tier_", &m.tiers),
            ("out_", &m.answer_outcomes),
            ("pst_", &m.problem_statuses),
            ("kind_", &m.message_kinds),
        ];
        let js = concat!(env!("CARGO_MANIFEST_DIR"), "/web/js");
        assert_eq!(
            PAGE.check("dept", labelled, js.as_ref()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_openapi_document_has_the_sign_in_and_the_context() {
        let doc = crate::routes::openapi();
        for path in [
            "/api/v1/auth/login",
            "/api/v1/escalations/{id}/context",
            "/api/v1/meta",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
    }
}
