//! Problems for the agents: the open ones to link a request to, and the link.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::problem::{Problem, ProblemError, ProblemStatus};
use komek_store::problems::ProblemFilter;
use komek_store::requests::UpdateError;
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::work::may_act;

#[derive(OpenApi)]
#[openapi(paths(problems, link), components(schemas(ProblemIn, ProblemLink)))]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/problems", web::get().to(problems))
        .route("/api/v1/requests/{id}/problem", web::post().to(link));
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
    tracing::info!(request_id = %r.id, problem = %problem.number, "linked to a problem");
    Ok(HttpResponse::Ok().json(ProblemLink {
        problem,
        already: !outcome.already.is_empty(),
    }))
}
