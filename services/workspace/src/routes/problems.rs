//! Problems for the agents: the open ones to link a request to, and the link; for supervisors,
//! the approval of a department's proposed resolution (the list shows it in `proposal`), so the
//! supervision panel can send it without leaving this page.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::problem::{Problem, ProblemError, ProblemStatus};
use komek_store::problems::{ProblemFilter, Resolution};
use komek_store::requests::UpdateError;
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::work::may_act;

#[derive(OpenApi)]
#[openapi(
    paths(problems, link, approve),
    components(schemas(ProblemIn, ProblemLink, ApproveIn))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/problems", web::get().to(problems))
        .route("/api/v1/requests/{id}/problem", web::post().to(link))
        .route("/api/v1/problems/{id}/approve", web::post().to(approve));
}

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

/// Open and candidate problems, newest first, for an agent to link a request to.
#[utoipa::path(get, path = "/api/v1/problems", security(("bearer" = [])),
    responses((status = 200, body = [Problem]), (status = 403, body = komek_web::error::Problem)))]
pub async fn problems(
    staff: Staff,
    deps: web::Data<crate::Deps>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
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
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<ProblemIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let r = crate::routes::work::find_request(&staff, store, &id).await?;
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
            &[r.id],
            staff.login(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| match e {
            UpdateError::NotFound => ApiError::NotFound("problem"),
            UpdateError::Rejected(e) => problem_refused(e),
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
    tracing::info!(request_id = %r.id, problem = %problem.number, "linked to a problem");
    Ok(HttpResponse::Ok().json(ProblemLink {
        problem,
        already: !outcome.already.is_empty(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveIn {
    /// The `proposal.id` the supervisor read: a proposal replaced since is not approved (409).
    pub proposal_id: Uuid,
}

fn problem_refused(e: ProblemError) -> ApiError {
    let code = match e {
        ProblemError::ProposalReplaced => Code::Conflict,
        ProblemError::State { .. } | ProblemError::NoProposal => Code::InvalidProblemTransition,
    };
    ApiError::Conflict(code, e.to_string())
}

/// Approves a department's proposed resolution (supervisors): the problem is resolved with its
/// text and every linked open request with it (event `problem.resolved`), as the escalation
/// service's route of the same path does. 409 when no proposal awaits or it was replaced; 422
/// naming `messages.<lang>` when a linked open request's language has no text.
#[utoipa::path(post, path = "/api/v1/problems/{id}/approve", request_body = ApproveIn, security(("bearer" = [])),
    params(("id" = String, Path, description = "The problem's id (a UUID)")),
    responses((status = 200, body = Problem), (status = 400, body = komek_web::error::Problem, content_type = "application/problem+json"), (status = 401, body = komek_web::error::Problem, content_type = "application/problem+json"), (status = 403, body = komek_web::error::Problem, content_type = "application/problem+json", description = "Not a supervisor"), (status = 404, body = komek_web::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = komek_web::error::Problem, content_type = "application/problem+json", description = "No proposal waits, the problem is closed (`invalid_problem_transition`), or the proposal was replaced (`conflict`)"),
        (status = 413, body = komek_web::error::Problem, content_type = "application/problem+json"), (status = 415, body = komek_web::error::Problem, content_type = "application/problem+json"), (status = 422, body = komek_web::error::Problem, content_type = "application/problem+json", description = "A linked open request's language the proposal has no text for (`messages.<lang>`)"), (status = 503, body = komek_web::error::Problem, content_type = "application/problem+json")))]
pub async fn approve(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<ApproveIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_supervisor()?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound("problem"))?;
    let found = store
        .problem(id)
        .await?
        .ok_or(ApiError::NotFound("problem"))?;
    let proposal = match &found.proposal {
        _ if !found.status.is_open() => {
            return Err(problem_refused(ProblemError::State {
                status: found.status.as_str(),
                action: "resolved",
            }));
        }
        Some(p) if p.id == body.proposal_id => p,
        Some(_) => return Err(problem_refused(ProblemError::ProposalReplaced)),
        None => return Err(problem_refused(ProblemError::NoProposal)),
    };
    let missing = store
        .languages_without_text(id, &proposal.messages, |_| true)
        .await?;
    if !missing.is_empty() {
        return Err(ApiError::Invalid(
            missing
                .into_iter()
                .map(|lang| komek_web::error::FieldError {
                    field: format!("messages.{}", lang.as_str()),
                    message:
                        "a linked open request is in this language: the proposal has no text for it"
                            .into(),
                })
                .collect(),
        ));
    }
    let p = store
        .resolve_problem(
            id,
            staff.login(),
            &Resolution::Approve(body.proposal_id),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| ApiError::from_update(e.map_rejected(problem_refused), "problem"))?;
    tracing::info!(problem = %p.number, by = %staff.login(), "proposed resolution approved");
    Ok(HttpResponse::Ok().json(p))
}
