//! What agents do with the departments' work: answer a department's question on an escalation,
//! pick a problem record (a root cause many requests share) and link their request to it.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::InfoError;
use komek_domain::events::{EscalationChanged, kind};
use komek_domain::problem::{Problem, ProblemError, ProblemStatus};
use komek_store::Store;
use komek_store::problems::ProblemFilter;
use komek_store::requests::{Mutation, UpdateError};
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::work::{event, may_act, request_id, text};

/// How many problems the agents' picker lists.
const PICKER_LIMIT: usize = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemIn {
    pub problem_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemLink {
    pub problem: Problem,
    /// The request was linked to this problem before this call (nothing changed).
    pub already: bool,
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
    store: web::Data<Store>,
    path: web::Path<(String, String)>,
    StrictJson(body): StrictJson<super::work::Text>,
) -> Result<HttpResponse, ApiError> {
    staff.require_agent()?;
    let (id, escalation_id) = path.into_inner();
    let id = request_id(&id)?;
    let escalation_id: Uuid = escalation_id
        .parse()
        .map_err(|_| ApiError::NotFound("escalation"))?;
    let t = text("text", &body.text)?;
    let now = OffsetDateTime::now_utc();
    let r = store
        .update_request(id, None, |r| {
            may_act(&staff, r)?;
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
            Ok(Mutation {
                change,
                event: Some(event(kind::ESCALATION_INFO_GIVEN, r, &payload, now)),
                ops: vec![],
            })
        })
        .await?;
    tracing::info!(request_id = %r.id, %escalation_id, "information given to the department");
    Ok(HttpResponse::Accepted().json(r))
}

/// Open and candidate problems, newest first, for an agent to link a request to.
#[utoipa::path(get, path = "/api/v1/problems", security(("bearer" = [])),
    responses((status = 200, body = [Problem]), (status = 403, body = komek_web::error::Problem)))]
pub async fn problems(staff: Staff, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    staff.require_agent()?;
    let list = store
        .problems(&ProblemFilter {
            statuses: vec![ProblemStatus::Open, ProblemStatus::Candidate],
            department: None,
            limit: PICKER_LIMIT,
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Links the request to a problem (one problem at a time): when the problem is resolved, the
/// request is resolved with its message. The request shows the link once the workspace has
/// applied `problem.linked`.
#[utoipa::path(post, path = "/api/v1/requests/{id}/problem", request_body = ProblemIn, security(("bearer" = [])),
    responses((status = 200, body = ProblemLink), (status = 403, body = komek_web::error::Problem),
        (status = 404, body = komek_web::error::Problem),
        (status = 409, body = komek_web::error::Problem, description = "The request is closed, the problem no longer open, or the request belongs to another open problem"),
        (status = 422, body = komek_web::error::Problem)))]
pub async fn link(
    staff: Staff,
    store: web::Data<Store>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<ProblemIn>,
) -> Result<HttpResponse, ApiError> {
    staff.require_agent()?;
    let id = request_id(&id)?;
    let r = store
        .request(id)
        .await?
        .ok_or(ApiError::NotFound("request"))?;
    may_act(&staff, &r)?;
    if !r.status.is_open() {
        return Err(ApiError::Conflict(
            Code::RequestNotOpen,
            format!(
                "request {} is {}: there is nothing left to resolve",
                r.number, r.status
            ),
        ));
    }
    let outcome = store
        .link_requests(
            body.problem_id,
            &[id],
            staff.login(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| match e {
            UpdateError::NotFound => ApiError::NotFound("problem"),
            UpdateError::Rejected(e @ ProblemError::State { .. }) => {
                ApiError::Conflict(Code::InvalidProblemTransition, e.to_string())
            }
            UpdateError::Store(e) => e.into(),
            UpdateError::Duplicate | UpdateError::Precondition(_) | UpdateError::Contended => {
                ApiError::Conflict(
                    Code::Contended,
                    "the problem changed while we were saving; try again".into(),
                )
            }
        })?;
    if let Some(other) = outcome.refused.first() {
        return Err(ApiError::Conflict(
            Code::LinkedElsewhere,
            format!(
                "request {} belongs to problem {}; unlink it there first",
                r.number, other.problem_number
            ),
        ));
    }
    let problem = store
        .problem(body.problem_id)
        .await?
        .ok_or(ApiError::NotFound("problem"))?;
    tracing::info!(request_id = %id, problem = %problem.number, "linked to a problem");
    Ok(HttpResponse::Ok().json(ProblemLink {
        problem,
        already: !outcome.already.is_empty(),
    }))
}
