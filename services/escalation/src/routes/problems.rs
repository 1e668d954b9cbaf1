//! Problem records: open one, list and read them with their linked requests, link and unlink
//! requests, confirm or dismiss a spike candidate, resolve (every linked open request is then
//! resolved by the workspace with the message in its customer's language).
//!
//! Access: supervisors everything; department staff their own department's problems only (another
//! department's answers 404, exactly like an unknown id); agents read every problem and link
//! requests. The staff member is re-read from the store on every call, like for escalations.
//!
//! What a problem reaches is bounded by who links it, because resolving one writes to every linked
//! customer: department staff link (and see, and unlink) only requests their department reaches
//! ([`department_reaches`]: escalated to it, or of one of its categories), agents only requests
//! they own, supervisors any. A department's resolution is a proposal: its text reaches customers
//! only once a supervisor approves it (`POST /api/v1/problems/{id}/approve`, or the workspace's
//! route of the same path); a supervisor's resolution is sent at once.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::events::kind;
use komek_domain::problem::{
    Messages, Problem, ProblemError, ProblemStatus, Proposal, SpikeInfo, department_reaches,
};
use komek_domain::spike::department_of;
use komek_domain::staff::Role;
use komek_domain::{Category, Channel, Lang, Request, RequestId, RequestNumber, Status};
use komek_store::problems::{NewProblem, ProblemFilter, Resolution, problem_event};
use komek_store::requests::UpdateError;
use komek_store::{Op, Store};
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::bounded;
use crate::Deps;
use crate::routes::escalations::member;

type ErrorBody = komek_web::error::Problem;

#[derive(OpenApi)]
#[openapi(
    paths(
        create, list, get_one, link, unlink, confirm, dismiss, resolve, approve
    ),
    components(schemas(
        Problem,
        ProblemStatus,
        Messages,
        Proposal,
        ApproveIn,
        SpikeInfo,
        CreateIn,
        ProblemView,
        LinkedRequest,
        LinkIn,
        LinkOut,
        RefusedOut,
        ConfirmIn,
        DismissIn,
        ResolveIn,
        ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/problems", web::post().to(create))
        .route("/api/v1/problems", web::get().to(list))
        .route("/api/v1/problems/{id}", web::get().to(get_one))
        .route("/api/v1/problems/{id}/requests", web::post().to(link))
        .route(
            "/api/v1/problems/{id}/requests/{number}",
            web::delete().to(unlink),
        )
        .route("/api/v1/problems/{id}/confirm", web::post().to(confirm))
        .route("/api/v1/problems/{id}/dismiss", web::post().to(dismiss))
        .route("/api/v1/problems/{id}/resolve", web::post().to(resolve))
        .route("/api/v1/problems/{id}/approve", web::post().to(approve));
}

const LIST_LIMIT: usize = 500;
/// Linked requests shown with a problem; `more` says there are others.
const SHOWN_REQUESTS: usize = 200;
const MAX_NUMBERS: usize = 1000;
const TITLE_MAX: usize = 200;
const TEXT_MAX: usize = 10_000;

/// Who is calling, as far as problems go.
enum Caller {
    Supervisor(String),
    Agent(String),
    /// Department staff, re-read from the store: login and department.
    Department(String, String),
}

impl Caller {
    async fn of(store: &Store, staff: &Staff) -> Result<Caller, ApiError> {
        Ok(match staff.0.role {
            Role::Supervisor => Caller::Supervisor(staff.login().to_owned()),
            Role::Agent => Caller::Agent(staff.login().to_owned()),
            Role::DepartmentStaff => {
                let m = member(store, staff).await?;
                Caller::Department(m.user.login, m.department)
            }
        })
    }

    fn login(&self) -> &str {
        match self {
            Caller::Supervisor(l) | Caller::Agent(l) | Caller::Department(l, _) => l,
        }
    }

    fn sees(&self, p: &Problem) -> bool {
        match self {
            Caller::Department(_, d) => p.department.as_deref() == Some(d.as_str()),
            _ => true,
        }
    }

    /// Whether the caller may link request `r` to a problem, unlink it, and see it among a
    /// problem's requests.
    fn reaches(&self, r: &Request) -> bool {
        match self {
            Caller::Supervisor(_) => true,
            Caller::Agent(login) => r.owner.as_deref() == Some(login.as_str()),
            Caller::Department(_, d) => department_reaches(d, r),
        }
    }

    /// Whether every linked request shows without looking at each.
    fn reaches_all(&self) -> bool {
        !matches!(self, Caller::Department(..))
    }

    /// What a caller is told when `reaches` refused some requests.
    fn unreachable(&self) -> &'static str {
        match self {
            Caller::Agent(_) => {
                "agents link only requests they own; ask a supervisor for the others (see errors)"
            }
            _ => {
                "your department links only requests escalated to it or of its categories; \
                 ask a supervisor for the others (see errors)"
            }
        }
    }

    /// Changing a problem beyond linking: supervisors and its department's staff.
    fn may_manage(&self) -> Result<(), ApiError> {
        match self {
            Caller::Agent(_) => Err(ApiError::Forbidden(
                "this needs a supervisor or the problem's department",
            )),
            _ => Ok(()),
        }
    }
}

/// The problem `raw` if the caller may see it; 404 otherwise, the same as for an unknown id.
async fn visible(store: &Store, caller: &Caller, raw: &str) -> Result<Problem, ApiError> {
    let id: Uuid = raw.parse().map_err(|_| ApiError::NotFound("problem"))?;
    match store.problem(id).await? {
        Some(p) if caller.sees(&p) => Ok(p),
        _ => Err(ApiError::NotFound("problem")),
    }
}

fn refused(e: ProblemError) -> ApiError {
    let code = match e {
        ProblemError::ProposalReplaced => Code::Conflict,
        ProblemError::State { .. } | ProblemError::NoProposal => Code::InvalidProblemTransition,
    };
    ApiError::Conflict(code, e.to_string())
}

/// The caller, and the problem `raw` they may see and manage (404, then 403, otherwise).
async fn managed(store: &Store, staff: &Staff, raw: &str) -> Result<(Caller, Problem), ApiError> {
    let caller = Caller::of(store, staff).await?;
    let p = visible(store, &caller, raw).await?;
    caller.may_manage()?;
    Ok((caller, p))
}

fn update_error(e: UpdateError<ProblemError>) -> ApiError {
    ApiError::from_update(e.map_rejected(refused), "problem")
}

async fn known_department(store: &Store, code: &str) -> Result<String, ApiError> {
    store
        .department(code)
        .await?
        .map(|d| d.code)
        .ok_or_else(|| ApiError::invalid("department", "no such department"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIn {
    /// 1 to 200 characters; no control character but newline and tab.
    #[schema(format = "text", max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(format = "text-or-blank", max_length = 10000)]
    pub description: Option<String>,
    /// Department staff: their own (the default). Others: required unless the category maps to one.
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    #[schema(format = "text-or-blank", max_length = 200)]
    pub region: Option<String>,
}

/// Open a problem record.
#[utoipa::path(post, path = "/api/v1/problems", request_body = CreateIn,
    responses((status = 201, body = Problem), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    staff: Staff,
    deps: web::Data<Deps>,
    body: StrictJson<CreateIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let caller = Caller::of(store, &staff).await?;
    let b = body.0;
    let title = bounded("title", &b.title, TITLE_MAX, true)?;
    let description = bounded(
        "description",
        b.description.as_deref().unwrap_or(""),
        TEXT_MAX,
        false,
    )?;
    let region = b
        .region
        .as_deref()
        .map(|r| bounded("region", r, TITLE_MAX, false))
        .transpose()?
        .filter(|r| !r.is_empty());
    let department = match &caller {
        Caller::Department(_, own) => {
            if b.department.as_ref().is_some_and(|d| d != own) {
                return Err(ApiError::invalid(
                    "department",
                    "department staff open problems of their own department",
                ));
            }
            own.clone()
        }
        _ => match b
            .department
            .clone()
            .or_else(|| b.category.and_then(department_of).map(str::to_owned))
        {
            Some(d) => known_department(store, &d).await?,
            None => {
                return Err(ApiError::invalid(
                    "department",
                    "say which department works it (or give a category that has one)",
                ));
            }
        },
    };
    let new = NewProblem {
        title,
        description,
        department: Some(department),
        category: b.category,
        region,
        status: ProblemStatus::Open,
        created_by: caller.login().to_owned(),
        spike: None,
    };
    let p = store
        .create_problem(new, |_| Vec::new(), OffsetDateTime::now_utc())
        .await?
        .ok_or(ApiError::Internal)?;
    Ok(HttpResponse::Created().json(p))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated statuses (`candidate,open,resolved,dismissed`) or `all`; default
    /// `candidate,open`.
    #[serde(default)]
    #[param(
        pattern = r"^\s*(?:all|(?:candidate|open|resolved|dismissed)(?:\s*,\s*(?:candidate|open|resolved|dismissed))*)\s*$"
    )]
    pub status: Option<String>,
    /// Supervisors and agents: one department's only. Department staff always see their own.
    #[serde(default)]
    pub department: Option<String>,
}

fn statuses(raw: Option<&str>) -> Result<Vec<ProblemStatus>, ApiError> {
    let raw = raw.unwrap_or("candidate,open");
    if raw.trim() == "all" {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.trim().to_owned())).map_err(|_| {
                ApiError::invalid("status", "candidate, open, resolved, dismissed or all")
            })
        })
        .collect()
}

/// Problems newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/problems", params(ListQuery),
    responses((status = 200, body = [Problem]), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    staff: Staff,
    deps: web::Data<Deps>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let caller = Caller::of(store, &staff).await?;
    let statuses = statuses(query.status.as_deref())?;
    let department = match &caller {
        Caller::Department(_, own) => {
            if query.department.as_ref().is_some_and(|d| d != own) {
                return Ok(HttpResponse::Ok().json(Vec::<Problem>::new()));
            }
            Some(own.clone())
        }
        _ => query.department.clone(),
    };
    let filter = ProblemFilter {
        statuses,
        department,
        limit: LIST_LIMIT,
    };
    Ok(HttpResponse::Ok().json(store.problems(&filter).await?))
}

/// A linked request, as a problem shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedRequest {
    #[schema(value_type = String)]
    pub id: RequestId,
    #[schema(value_type = String)]
    pub number: RequestNumber,
    #[schema(value_type = String)]
    pub status: Status,
    #[schema(value_type = String)]
    pub language: Lang,
    #[schema(value_type = String)]
    pub channel: Channel,
    #[schema(value_type = String)]
    pub category: Category,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemView {
    pub problem: Problem,
    /// The first 200 linked requests the caller may see, oldest first.
    pub requests: Vec<LinkedRequest>,
    /// More requests are linked than shown (or read).
    pub more: bool,
    /// Linked requests the caller may not see (department staff: those neither escalated to
    /// their department nor of its categories), counted but not described; among the requests
    /// read to fill `requests`, which is all of them when `more` is false.
    pub hidden: u64,
}

/// One problem with its linked requests (the first 200 the caller may see).
#[utoipa::path(get, path = "/api/v1/problems/{id}", params(("id" = String, Path, description = "The problem's id (a UUID)")),
    responses((status = 200, body = ProblemView), (status = 401, body = ErrorBody, content_type = "application/problem+json"), (status = 403, body = ErrorBody, content_type = "application/problem+json"),
        (status = 404, body = ErrorBody, content_type = "application/problem+json", description = "No such problem, or another department's"), (status = 503, body = ErrorBody, content_type = "application/problem+json")))]
pub async fn get_one(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let caller = Caller::of(store, &staff).await?;
    let problem = visible(store, &caller, &id).await?;
    let mut ids = store.problem_request_ids(problem.id).await?;
    // Request ids are time-ordered (v7): sorting shows the oldest first, stable between reads.
    ids.sort_by_key(|r| r.0);
    let mut requests = Vec::new();
    let mut hidden = 0;
    let mut more = false;
    // Everyone but department staff sees every request: read only those shown. Department staff
    // read a chunk at a time until the list is full, so a large problem costs what it shows.
    let chunk = if caller.reaches_all() {
        SHOWN_REQUESTS
    } else {
        500
    };
    let mut read = 0;
    for ids in ids.chunks(chunk) {
        if requests.len() >= SHOWN_REQUESTS {
            more = true;
            break;
        }
        read += ids.len();
        for r in store.requests(ids).await? {
            if !caller.reaches(&r) {
                hidden += 1;
            } else if requests.len() < SHOWN_REQUESTS {
                requests.push(LinkedRequest {
                    id: r.id,
                    number: r.number,
                    status: r.status,
                    language: r.language,
                    channel: r.channel,
                    category: r.category,
                });
            } else {
                more = true;
            }
        }
    }
    more |= read < ids.len();
    Ok(HttpResponse::Ok().json(ProblemView {
        problem,
        requests,
        more,
        hidden,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    /// Request numbers (`KM-...`), 1 to 1000.
    #[schema(min_items = 1, max_items = 1000)]
    pub numbers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedOut {
    pub number: String,
    /// The open problem the request belongs to.
    pub problem_id: Uuid,
    pub problem_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkOut {
    /// Newly linked.
    pub linked: usize,
    /// Linked to this problem before.
    pub already: usize,
    /// Linked to another open problem: left there.
    pub refused: Vec<RefusedOut>,
    pub problem: Problem,
}

/// Link requests by number (1 to 1000). A request belongs to one open problem at a time: one
/// linked to another is refused and reported. Supervisors link any request; the problem's
/// department only requests escalated to it or of its categories; agents only requests they own.
/// One number the caller may not link refuses the whole call with 403, `errors` naming each
/// (`numbers[i]`), and nothing is linked.
#[utoipa::path(post, path = "/api/v1/problems/{id}/requests", request_body = LinkIn,
    params(("id" = String, Path, description = "The problem's id (a UUID)")),
    responses((status = 200, body = LinkOut), (status = 400, body = ErrorBody, content_type = "application/problem+json"), (status = 401, body = ErrorBody, content_type = "application/problem+json"),
        (status = 403, body = ErrorBody, content_type = "application/problem+json", description = "Not the caller's to link: `errors` names each refused number (`numbers[i]`); nothing was linked"),
        (status = 404, body = ErrorBody, content_type = "application/problem+json"), (status = 409, body = ErrorBody, content_type = "application/problem+json"), (status = 413, body = ErrorBody, content_type = "application/problem+json"), (status = 415, body = ErrorBody, content_type = "application/problem+json"), (status = 422, body = ErrorBody, content_type = "application/problem+json", description = "An unknown number (`numbers[i]`), or none or more than 1000"), (status = 503, body = ErrorBody, content_type = "application/problem+json")))]
pub async fn link(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    body: StrictJson<LinkIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let caller = Caller::of(store, &staff).await?;
    let problem = visible(store, &caller, &id).await?;
    let numbers: Vec<String> = body.0.numbers.iter().map(|n| n.trim().to_owned()).collect();
    if numbers.is_empty() || numbers.len() > MAX_NUMBERS {
        return Err(ApiError::invalid("numbers", "1 to 1000 request numbers"));
    }
    let ids = store.request_ids_by_numbers(&numbers).await?;
    let unknown: Vec<komek_web::error::FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| id.is_none())
        .map(|(i, _)| komek_web::error::FieldError {
            field: format!("numbers[{i}]"),
            message: format!("no request {}", numbers[i]),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Invalid(unknown));
    }
    let ids: Vec<RequestId> = ids.into_iter().flatten().collect();
    // Every number is judged before anything is written: a call is linked whole or not at all.
    let forbidden = unreachable_numbers(store, &caller, &ids, &numbers, "numbers").await?;
    if !forbidden.is_empty() {
        return Err(ApiError::ForbiddenItems(caller.unreachable(), forbidden));
    }
    let out = store
        .link_requests(problem.id, &ids, caller.login(), OffsetDateTime::now_utc())
        .await
        .map_err(update_error)?;
    let number_of = |r: RequestId| {
        ids.iter()
            .position(|x| *x == r)
            .map(|i| numbers[i].clone())
            .unwrap_or_default()
    };
    let refused = out
        .refused
        .iter()
        .map(|r| RefusedOut {
            number: number_of(r.request_id),
            problem_id: r.problem_id,
            problem_number: r.problem_number.clone(),
        })
        .collect();
    let problem = store
        .problem(problem.id)
        .await?
        .ok_or(ApiError::NotFound("problem"))?;
    Ok(HttpResponse::Ok().json(LinkOut {
        linked: out.linked.len(),
        already: out.already.len(),
        refused,
        problem,
    }))
}

/// The numbers (as `field[i]` errors) of the requests `ids` the caller may not link; a request
/// whose document is gone counts as one they may not. Supervisors read nothing.
async fn unreachable_numbers(
    store: &Store,
    caller: &Caller,
    ids: &[RequestId],
    numbers: &[String],
    field: &str,
) -> Result<Vec<komek_web::error::FieldError>, ApiError> {
    if matches!(caller, Caller::Supervisor(_)) {
        return Ok(Vec::new());
    }
    let mut reached = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        for r in store.requests(chunk).await? {
            if caller.reaches(&r) {
                reached.insert(r.id);
            }
        }
    }
    Ok(ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !reached.contains(id))
        .map(|(i, _)| komek_web::error::FieldError {
            field: format!("{field}[{i}]"),
            message: format!("you may not link {}", numbers[i]),
        })
        .collect())
}

/// Unlink one request. Supervisors and the problem's department (a request it reaches: 403
/// otherwise).
#[utoipa::path(delete, path = "/api/v1/problems/{id}/requests/{number}",
    params(("id" = String, Path, description = "The problem's id (a UUID)"), ("number" = String, Path, description = "The request's number, e.g. KM-000123")),
    responses((status = 204), (status = 401, body = ErrorBody, content_type = "application/problem+json"), (status = 403, body = ErrorBody, content_type = "application/problem+json", description = "Agents, or a request the department does not reach"),
        (status = 404, body = ErrorBody, content_type = "application/problem+json"), (status = 409, body = ErrorBody, content_type = "application/problem+json"), (status = 503, body = ErrorBody, content_type = "application/problem+json")))]
pub async fn unlink(
    staff: Staff,
    deps: web::Data<Deps>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (id, number) = path.into_inner();
    let (caller, problem) = managed(store, &staff, &id).await?;
    let request = store
        .request_ids_by_numbers(&[number])
        .await?
        .into_iter()
        .flatten()
        .next()
        .ok_or(ApiError::NotFound("request"))?;
    let reached = store
        .requests(&[request])
        .await?
        .first()
        .is_some_and(|r| caller.reaches(r));
    if !reached {
        return Err(ApiError::Forbidden(
            "your department unlinks only requests escalated to it or of its categories",
        ));
    }
    let unlinked = store
        .unlink_request(
            problem.id,
            request,
            caller.login(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(update_error)?;
    if !unlinked {
        return Err(ApiError::NotFound("request"));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A change of a problem's status in one commit with its event; `f` returns the event's detail
/// and extra operations. The caller's access is checked again on the version committed.
async fn change(
    store: &Store,
    caller: &Caller,
    id: Uuid,
    mut f: impl FnMut(&mut Problem) -> Result<(komek_domain::events::Envelope, Vec<Op>), ApiError>,
) -> Result<Problem, ApiError> {
    store
        .update_doc(&store.keys().problem(id), |p: &mut Problem| {
            if !caller.sees(p) {
                return Err(ApiError::NotFound("problem"));
            }
            let (event, ops) = f(p)?;
            Ok((Some(event), ops))
        })
        .await
        .map_err(|e| ApiError::from_update(e, "problem"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    /// Supervisors: the department that works it (required when the candidate has none).
    #[serde(default)]
    pub department: Option<String>,
}

/// Confirm a spike candidate: it becomes an open problem. Supervisors and its department.
#[utoipa::path(post, path = "/api/v1/problems/{id}/confirm", request_body = ConfirmIn,
    responses((status = 200, body = Problem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    body: StrictJson<ConfirmIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (caller, found) = managed(store, &staff, &id).await?;
    let department = match (&caller, body.0.department) {
        (Caller::Department(_, own), Some(d)) if d != *own => {
            return Err(ApiError::invalid(
                "department",
                "department staff confirm for their own department",
            ));
        }
        (_, Some(d)) => Some(known_department(store, &d).await?),
        (_, None) if found.department.is_none() => {
            return Err(ApiError::invalid(
                "department",
                "say which department works it",
            ));
        }
        (_, None) => None,
    };
    let k = store.keys().clone();
    let now = OffsetDateTime::now_utc();
    let by = caller.login().to_owned();
    let p = change(store, &caller, found.id, |p| {
        let before = p.department.clone();
        p.confirm(department.clone()).map_err(refused)?;
        let mut ops = Vec::new();
        if p.department != before
            && let Some(d) = &p.department
        {
            ops.push(Op::ZAdd {
                key: k.department_problems(d),
                member: p.id.to_string(),
                score: p.created_at.unix_timestamp() * 1000,
            });
            if let Some(old) = &before {
                ops.push(Op::ZRem {
                    key: k.department_problems(old),
                    member: p.id.to_string(),
                });
            }
        }
        let event = problem_event(kind::PROBLEM_CONFIRMED, p, None, &by, None, now);
        Ok((event, ops))
    })
    .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissIn {}

/// Dismiss a spike candidate (not a real problem). Supervisors and its department.
#[utoipa::path(post, path = "/api/v1/problems/{id}/dismiss", request_body = DismissIn,
    responses((status = 200, body = Problem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn dismiss(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    _body: StrictJson<DismissIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (caller, found) = managed(store, &staff, &id).await?;
    let guard = store.spike_guard_clear(&found).await?;
    let now = OffsetDateTime::now_utc();
    let by = caller.login().to_owned();
    let p = change(store, &caller, found.id, |p| {
        p.dismiss().map_err(refused)?;
        let event = problem_event(kind::PROBLEM_DISMISSED, p, None, &by, None, now);
        Ok((event, guard.clone().into_iter().collect()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// The message each linked customer gets, per language; every language of a linked open
    /// request needs one.
    pub messages: Messages,
}

/// 422 naming `messages.<lang>` for each language in `missing`.
fn missing_texts(missing: Vec<Lang>) -> ApiError {
    ApiError::Invalid(
        missing
            .into_iter()
            .map(|lang| komek_web::error::FieldError {
                field: format!("messages.{}", lang.as_str()),
                message: "a linked open request is in this language: give its text".into(),
            })
            .collect(),
    )
}

fn still_open(p: &Problem) -> Result<(), ApiError> {
    if p.status.is_open() {
        Ok(())
    } else {
        Err(refused(ProblemError::State {
            status: p.status.as_str(),
            action: "resolved",
        }))
    }
}

/// Resolve the problem with a message per language (422 naming `messages.<lang>` for a language
/// some linked open request has and the messages lack).
///
/// A supervisor's resolution is sent at once: 200, the problem resolved, and the workspace
/// resolves every linked open request with the message in its language (event
/// `problem.resolved`). The problem's department only proposes: 202, the problem still open with
/// the text in `proposal` (event `problem.resolution_proposed`); nothing reaches a customer until
/// a supervisor approves it (`POST /api/v1/problems/{id}/approve`). A new proposal replaces the
/// one before.
#[utoipa::path(post, path = "/api/v1/problems/{id}/resolve", request_body = ResolveIn,
    params(("id" = String, Path, description = "The problem's id (a UUID)")),
    responses((status = 200, body = Problem, description = "A supervisor's resolution: resolved and sent"),
        (status = 202, body = Problem, description = "A department's proposal: awaiting a supervisor's approval, nothing sent"),
        (status = 400, body = ErrorBody, content_type = "application/problem+json"), (status = 401, body = ErrorBody, content_type = "application/problem+json"), (status = 403, body = ErrorBody, content_type = "application/problem+json"), (status = 404, body = ErrorBody, content_type = "application/problem+json"), (status = 409, body = ErrorBody, content_type = "application/problem+json"), (status = 413, body = ErrorBody, content_type = "application/problem+json"), (status = 415, body = ErrorBody, content_type = "application/problem+json"),
        (status = 422, body = ErrorBody, content_type = "application/problem+json", description = "A linked open request's language without text (`messages.<lang>`), or a text too long"), (status = 503, body = ErrorBody, content_type = "application/problem+json")))]
pub async fn resolve(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    body: StrictJson<ResolveIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (caller, found) = managed(store, &staff, &id).await?;
    let messages = body.0.messages;
    for (field, text) in [
        ("messages.kk", &messages.kk),
        ("messages.ru", &messages.ru),
        ("messages.en", &messages.en),
    ] {
        if let Some(t) = text {
            bounded(field, t, TEXT_MAX, false)?;
        }
    }
    still_open(&found)?;
    // A department is told only of the languages of requests it may see; the supervisor who
    // approves is told of every one.
    let missing = store
        .languages_without_text(found.id, &messages, |r| caller.reaches(r))
        .await?;
    if !missing.is_empty() {
        return Err(missing_texts(missing));
    }
    let now = OffsetDateTime::now_utc();
    let by = caller.login().to_owned();
    if let Caller::Supervisor(_) = caller {
        let p = store
            .resolve_problem(found.id, &by, &Resolution::Direct(messages), now)
            .await
            .map_err(update_error)?;
        return Ok(HttpResponse::Ok().json(p));
    }
    let proposal = Uuid::now_v7();
    let p = change(store, &caller, found.id, |p| {
        p.propose(proposal, &by, messages.clone(), now)
            .map_err(refused)?;
        let event = problem_event(kind::PROBLEM_RESOLUTION_PROPOSED, p, None, &by, None, now);
        Ok((event, Vec::new()))
    })
    .await?;
    tracing::info!(problem = %p.number, by = %by, "resolution proposed; awaiting a supervisor");
    Ok(HttpResponse::Accepted().json(p))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveIn {
    /// The `proposal.id` the supervisor read: a proposal replaced since is not approved (409).
    pub proposal_id: Uuid,
}

/// Approve the department's proposed resolution: the problem is resolved with its text and the
/// workspace resolves every linked open request (event `problem.resolved`, `by` the supervisor,
/// `proposed_by` the author). Supervisors only. 409 when no proposal awaits or it was replaced;
/// 422 naming `messages.<lang>` when a linked open request's language has no text (the department
/// proposes again, or the supervisor resolves with a full text).
#[utoipa::path(post, path = "/api/v1/problems/{id}/approve", request_body = ApproveIn, params(("id" = String, Path, description = "The problem's id (a UUID)")),
    responses((status = 200, body = Problem), (status = 400, body = ErrorBody, content_type = "application/problem+json"), (status = 401, body = ErrorBody, content_type = "application/problem+json"), (status = 403, body = ErrorBody, content_type = "application/problem+json", description = "Not a supervisor"), (status = 404, body = ErrorBody, content_type = "application/problem+json"),
        (status = 409, body = ErrorBody, content_type = "application/problem+json", description = "No proposal waits, the problem is closed (`invalid_problem_transition`), or the proposal was replaced (`conflict`)"),
        (status = 413, body = ErrorBody, content_type = "application/problem+json"), (status = 415, body = ErrorBody, content_type = "application/problem+json"), (status = 422, body = ErrorBody, content_type = "application/problem+json", description = "A linked open request's language the proposal has no text for (`messages.<lang>`)"), (status = 503, body = ErrorBody, content_type = "application/problem+json")))]
pub async fn approve(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    body: StrictJson<ApproveIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let caller = Caller::of(store, &staff).await?;
    let found = visible(store, &caller, &id).await?;
    if !matches!(caller, Caller::Supervisor(_)) {
        return Err(ApiError::Forbidden(
            "a supervisor approves a problem's resolution",
        ));
    }
    let p = approve_proposal(store, found, body.0.proposal_id, caller.login()).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Resolves `found` with its proposal `proposal_id` as supervisor `by`, after checking every
/// linked open request's language has a text.
async fn approve_proposal(
    store: &Store,
    found: Problem,
    proposal_id: Uuid,
    by: &str,
) -> Result<Problem, ApiError> {
    still_open(&found)?;
    let messages = match &found.proposal {
        Some(p) if p.id == proposal_id => p.messages.clone(),
        Some(_) => return Err(refused(ProblemError::ProposalReplaced)),
        None => return Err(refused(ProblemError::NoProposal)),
    };
    let missing = store
        .languages_without_text(found.id, &messages, |_| true)
        .await?;
    if !missing.is_empty() {
        return Err(missing_texts(missing));
    }
    store
        .resolve_problem(
            found.id,
            by,
            &Resolution::Approve(proposal_id),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(update_error)
}
