//! The departments, for the agents: the ones a request can be escalated to, and answering a
//! department's question on an escalation. (Problem records: [`super::problems`].)

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::InfoError;
use komek_domain::events::{EscalationChanged, kind};
use komek_domain::staff::Department;
use komek_web::{ApiError, Code, StrictJson};
use time::OffsetDateTime;
use utoipa::OpenApi;
use uuid::Uuid;

use super::work::{Who, act, agent_on, event, text};

#[derive(OpenApi)]
#[openapi(paths(departments, give_info), components(schemas(Department)))]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/departments", web::get().to(departments))
        .route(
            "/api/v1/requests/{id}/escalations/{escalation_id}/info",
            web::post().to(give_info),
        );
}

/// The agent answers the department's question on the escalation the request waits for. The
/// answer goes to the department as `escalation.info_given` (its deadline runs again there).
#[utoipa::path(post, path = "/api/v1/requests/{id}/escalations/{escalation_id}/info",
    request_body = super::work::Text, security(("bearer" = [])),
    responses((status = 202, body = komek_domain::Request, description = "Sent to the department"),
        (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem),
        (status = 409, body = komek_web::error::Problem, description = "Not this request's escalation, or nothing is asked"),
        (status = 422, body = komek_web::error::Problem)))]
pub async fn give_info(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    path: web::Path<(String, String)>,
    StrictJson(body): StrictJson<super::work::Text>,
) -> Result<HttpResponse, ApiError> {
    let (id, escalation_id) = path.into_inner();
    let id = agent_on(&staff, &id)?;
    let escalation_id: Uuid = escalation_id
        .parse()
        .map_err(|_| ApiError::NotFound("escalation"))?;
    let t = text("text", &body.text)?;
    let now = OffsetDateTime::now_utc();
    let r = act(&deps.store, &staff, id, Who::Owner, |r| {
        let change = r
            .give_escalation_info(escalation_id, staff.login(), &t, now)
            .map_err(|e| match e {
                InfoError::NotCurrent => ApiError::Conflict(
                    Code::EscalationNotCurrent,
                    format!(
                        "request {} does not wait for escalation {escalation_id}",
                        r.number
                    ),
                ),
                InfoError::NotAsked => ApiError::Conflict(Code::NothingAsked, e.to_string()),
            })?;
        let department = r
            .escalation
            .as_ref()
            .map(|e| e.department.clone())
            .unwrap_or_default();
        let payload = EscalationChanged {
            escalation_id,
            number: r.number.clone(),
            department,
            by: staff.login().to_owned(),
            detail: Some(t.clone()),
            from_department: None,
            tier: None,
            due: None,
        };
        Ok((change, event(kind::ESCALATION_INFO_GIVEN, r, &payload, now)))
    })
    .await?;
    tracing::info!(request_id = %r.id, %escalation_id, "information given to the department");
    Ok(HttpResponse::Accepted().json(r))
}

/// Departments requests can be escalated to.
#[utoipa::path(get, path = "/api/v1/departments", security(("bearer" = [])), responses((status = 200, body = [Department])))]
pub async fn departments(
    _staff: Staff,
    deps: web::Data<crate::Deps>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    Ok(HttpResponse::Ok().json(store.departments().await?))
}
