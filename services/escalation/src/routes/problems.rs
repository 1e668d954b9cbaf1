//! Problem records: open one, list and read them with their linked requests, link and unlink
//! requests, confirm or dismiss a spike candidate, resolve (every linked open request is then
//! resolved by the workspace with the message in its customer's language).
//!
//! Access: supervisors everything; department staff their own department's problems only (another
//! department's answers 404, exactly like an unknown id); agents read every problem and link
//! requests. The staff member is re-read from the store on every call, like for escalations.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::events::{ProblemResolved, kind};
use komek_domain::problem::{Messages, Problem, ProblemError, ProblemStatus, SpikeInfo};
use komek_domain::spike::department_of;
use komek_domain::staff::Role;
use komek_domain::{Category, Channel, Lang, RequestId, RequestNumber, Status};
use komek_store::problems::{NewProblem, ProblemFilter, problem_event};
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
    paths(create, list, get_one, link, unlink, confirm, dismiss, resolve),
    components(schemas(
        Problem,
        ProblemStatus,
        Messages,
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
        .route("/api/v1/problems/{id}/resolve", web::post().to(resolve));
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
    ApiError::Conflict(Code::InvalidProblemTransition, e.to_string())
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
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Department staff: their own (the default). Others: required unless the category maps to one.
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
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
        statuses: statuses(query.status.as_deref())?,
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
    /// The first 200 linked requests, oldest first.
    pub requests: Vec<LinkedRequest>,
    /// More requests are linked than shown.
    pub more: bool,
}

/// One problem with its linked requests (the first 200).
#[utoipa::path(get, path = "/api/v1/problems/{id}",
    responses((status = 200, body = ProblemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
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
    let more = ids.len() > SHOWN_REQUESTS;
    ids.truncate(SHOWN_REQUESTS);
    let requests = store
        .requests(&ids)
        .await?
        .into_iter()
        .map(|r| LinkedRequest {
            id: r.id,
            number: r.number,
            status: r.status,
            language: r.language,
            channel: r.channel,
            category: r.category,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ProblemView {
        problem,
        requests,
        more,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    /// Request numbers (`KM-...`), 1 to 1000.
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
/// linked to another is refused and reported. Agents, supervisors and the problem's department.
#[utoipa::path(post, path = "/api/v1/problems/{id}/requests", request_body = LinkIn,
    responses((status = 200, body = LinkOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
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

/// Unlink one request. Supervisors and the problem's department.
#[utoipa::path(delete, path = "/api/v1/problems/{id}/requests/{number}",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
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

/// Resolve the problem: the workspace resolves every linked open request with the message in its
/// language (event `problem.resolved`). 422 naming `messages.<lang>` for a language some linked
/// open request has and the messages lack. Supervisors and its department.
#[utoipa::path(post, path = "/api/v1/problems/{id}/resolve", request_body = ResolveIn,
    responses((status = 200, body = Problem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    if !found.status.is_open() {
        return Err(ApiError::Conflict(
            Code::InvalidProblemTransition,
            format!(
                "a problem that is {} cannot be resolved",
                found.status.as_str()
            ),
        ));
    }
    let missing = missing_languages(store, found.id, &messages).await?;
    if !missing.is_empty() {
        return Err(ApiError::Invalid(
            missing
                .into_iter()
                .map(|lang| komek_web::error::FieldError {
                    field: format!("messages.{}", lang.as_str()),
                    message: "a linked open request is in this language: give its text".into(),
                })
                .collect(),
        ));
    }
    let guard = store.spike_guard_clear(&found).await?;
    let now = OffsetDateTime::now_utc();
    let by = caller.login().to_owned();
    let p = change(store, &caller, found.id, |p| {
        p.resolve(&by, messages.clone(), now).map_err(refused)?;
        let payload = ProblemResolved {
            problem_id: p.id,
            number: p.number.clone(),
            title: p.title.clone(),
            by: by.clone(),
            messages: messages.clone(),
        };
        let event = komek_domain::events::Envelope::new(
            kind::PROBLEM_RESOLVED,
            RequestId(Uuid::nil()),
            &payload,
            now,
        );
        Ok((event, guard.clone().into_iter().collect()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Languages of linked open requests that `messages` has no text for. A request linked after this
/// check and before the commit is resolved by the workspace with whatever text there is.
async fn missing_languages(
    store: &Store,
    problem: Uuid,
    messages: &Messages,
) -> Result<Vec<Lang>, ApiError> {
    let mut missing = Vec::new();
    let ids = store.problem_request_ids(problem).await?;
    // A chunk at a time: memory stays bounded however many requests the problem has.
    for chunk in ids.chunks(500) {
        if missing.len() == 3 {
            break;
        }
        for r in store.requests(chunk).await? {
            if r.status.is_open()
                && messages.get(r.language).is_none()
                && !missing.contains(&r.language)
            {
                missing.push(r.language);
            }
        }
    }
    missing.sort_by_key(|l| l.as_str());
    Ok(missing)
}
