//! The department's HTTP contract: its queue, the lifecycle actions on one escalation, its
//! figures, and the quality team's list of escalations bounced between departments.
//!
//! Staff see and act only on their own department's escalations; another department's escalation
//! answers 404, exactly like one that does not exist. The caller is re-read from the store on
//! every call, so a change of level or department applies at once (a token whose user is gone or
//! moved gets 403). Supervisors read everything; agents nothing.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::escalation::{
    AnswerOutcome, Escalation, EscalationError, EscalationStatus, Step, Tier,
};
use komek_domain::events::{Envelope, EscalationAnswered, EscalationChanged, kind};
use komek_domain::staff::{Role, User};
use komek_store::{Keys, Op, Store};
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::Deps;
use crate::deadlines::{self, ms};

type Problem = komek_web::error::Problem;

#[derive(OpenApi)]
#[openapi(
    paths(list, get_one, accept, request_info, answer, reject, stats, bounced),
    components(schemas(
        Escalation,
        EscalationStatus,
        Tier,
        Step,
        AnswerOutcome,
        ListStatus,
        RequestInfoIn,
        AnswerIn,
        RejectIn,
        DepartmentStats,
        Problem
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/escalations", web::get().to(list))
        .route("/api/v1/escalations/{id}", web::get().to(get_one))
        .route("/api/v1/escalations/{id}/accept", web::post().to(accept))
        .route(
            "/api/v1/escalations/{id}/request-info",
            web::post().to(request_info),
        )
        .route("/api/v1/escalations/{id}/answer", web::post().to(answer))
        .route("/api/v1/escalations/{id}/reject", web::post().to(reject))
        .route("/api/v1/department/stats", web::get().to(stats))
        .route("/api/v1/quality/bounced", web::get().to(bounced));
}

/// The most escalations one list returns.
const LIST_LIMIT: usize = 500;
const TEXT_MAX: usize = 10_000;
/// The deadline watcher's name in steps and events.
pub const SYSTEM: &str = "system:escalation";

/// A department staff member as the store knows them now.
pub struct Member {
    pub user: User,
    pub department: String,
    pub tier: Tier,
}

/// The caller as department staff, re-read from the store: 403 for other roles, and for a token
/// whose user is gone or now works in another department (or in none).
pub async fn member(store: &Store, staff: &Staff) -> Result<Member, ApiError> {
    let claimed = staff.require_department()?;
    let user = store
        .user(staff.login())
        .await?
        .filter(|u| u.role == Role::DepartmentStaff)
        .ok_or(ApiError::Forbidden("this needs department staff"))?;
    let department =
        user.department
            .clone()
            .filter(|d| d == claimed)
            .ok_or(ApiError::Forbidden(
                "your department has changed: sign in again",
            ))?;
    Ok(Member {
        tier: Tier::of_level(user.level),
        user,
        department,
    })
}

/// The escalation `raw` if it is in the member's department; 404 otherwise, the same as for an id
/// that does not exist or is not a uuid.
pub async fn own(store: &Store, m: &Member, raw: &str) -> Result<Escalation, ApiError> {
    let id: Uuid = raw.parse().map_err(|_| ApiError::NotFound("escalation"))?;
    match store.escalation(id).await? {
        Some(e) if e.department == m.department => Ok(e),
        _ => Err(ApiError::NotFound("escalation")),
    }
}

/// The escalation `raw` as the caller may read it: a supervisor any, department staff their own
/// department's (404 otherwise), agents none.
pub async fn readable(store: &Store, staff: &Staff, raw: &str) -> Result<Escalation, ApiError> {
    if staff.0.role == Role::Supervisor {
        let id: Uuid = raw.parse().map_err(|_| ApiError::NotFound("escalation"))?;
        return store
            .escalation(id)
            .await?
            .ok_or(ApiError::NotFound("escalation"));
    }
    let m = member(store, staff).await?;
    own(store, &m, raw).await
}

/// Whether the member may act on `e` at the tier it has reached; 403 naming the tier needed.
fn may_act(e: &Escalation, m: &Member) -> Result<(), ApiError> {
    if e.may_act(&m.user.login, m.tier) {
        return Ok(());
    }
    Err(ApiError::Forbidden(match e.tier {
        Tier::FirstLine => "this needs department staff",
        Tier::SecondLine => {
            "this escalation has moved up to the second line: it needs second-line staff (level 2), the head or its assignee"
        }
        Tier::Head => {
            "this escalation has moved up to the head of the department: it needs the head (level 3) or its assignee"
        }
    }))
}

/// A text of 1 to 10 000 characters (trimmed), or 422 naming `field`.
fn text(field: &str, raw: &str) -> Result<String, ApiError> {
    super::bounded(field, raw, TEXT_MAX, true)
}

fn refused(e: EscalationError) -> ApiError {
    match e {
        EscalationError::SameDepartment(_) => {
            ApiError::invalid("department", "the escalation is already in this department")
        }
        e @ EscalationError::State { .. } => {
            ApiError::Conflict(Code::InvalidEscalationTransition, e.to_string())
        }
        e @ EscalationError::NotTheAgent => ApiError::Conflict(Code::Conflict, e.to_string()),
    }
}

/// The event of a step after the opening (payload `EscalationChanged`), in the request's journey
/// trace.
pub fn changed(
    event: &str,
    e: &Escalation,
    by: &str,
    detail: Option<String>,
    from_department: Option<String>,
    now: OffsetDateTime,
) -> Envelope {
    let payload = EscalationChanged {
        escalation_id: e.id,
        number: e.number.clone(),
        department: e.department.clone(),
        by: by.to_owned(),
        detail,
        from_department,
        tier: Some(e.tier),
        due: e.due_at,
    };
    journey(event, e, &payload, now)
}

/// An event about `e` in its request's journey trace.
fn journey<P: Serialize>(
    event: &str,
    e: &Escalation,
    payload: &P,
    now: OffsetDateTime,
) -> Envelope {
    komek_bus::journey_event(event, e.request_id, e.trace.as_deref(), payload, now)
}

/// The index moves of an escalation answered (or closed) at `at`: out of its department's active
/// set, into its answered set.
pub fn answered_ops(keys: &Keys, e: &Escalation, at: OffsetDateTime) -> Vec<Op> {
    let member = e.id.to_string();
    vec![
        Op::ZRem {
            key: keys.department_escalations(&e.department),
            member: member.clone(),
        },
        Op::ZAdd {
            key: keys.department_answered(&e.department),
            member,
            score: ms(at),
        },
    ]
}

/// The caller, and the escalation they may act on now.
async fn actor(store: &Store, staff: &Staff, raw: &str) -> Result<(Member, Escalation), ApiError> {
    let m = member(store, staff).await?;
    let e = own(store, &m, raw).await?;
    may_act(&e, &m)?;
    Ok((m, e))
}

/// One action in one commit: `f` changes the escalation and returns its event and index
/// operations; the deadline entry is kept in step here. Ownership and tier are checked again on
/// the version committed, since a reroute or a breach may have happened since they were read.
async fn commit(
    store: &Store,
    m: &Member,
    id: Uuid,
    mut f: impl FnMut(&mut Escalation) -> Result<(Envelope, Vec<Op>), ApiError>,
) -> Result<Escalation, ApiError> {
    let keys = store.keys().clone();
    store
        .update_doc(&keys.escalation(id), |e: &mut Escalation| {
            if e.department != m.department {
                return Err(ApiError::NotFound("escalation"));
            }
            may_act(e, m)?;
            let before = deadlines::member(e);
            let (event, mut ops) = f(e)?;
            ops.extend(deadlines::sync_ops(&keys, Some(&before), e));
            Ok((Some(event), ops))
        })
        .await
        .map_err(|err| ApiError::from_update(err, "escalation"))
}

/// Which escalations a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListStatus {
    /// Open, accepted or waiting for information (`open` is accepted too: the old contract).
    #[default]
    #[serde(alias = "open")]
    Active,
    Answered,
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `active` (default; alias `open`): nearest deadline first; `answered`: newest answer first;
    /// `all`: the active ones, then the answered ones.
    #[serde(default)]
    pub status: Option<ListStatus>,
    /// Only the caller's own: the ones they accepted (or answered).
    #[serde(default)]
    pub mine: Option<bool>,
    /// Supervisors: which department (required for them); staff: their own only.
    #[serde(default)]
    pub department: Option<String>,
}

/// A department's escalations (at most 500): department staff their own department's,
/// supervisors any department's (`department=`).
#[utoipa::path(get, path = "/api/v1/escalations", params(ListQuery),
    responses((status = 200, body = [Escalation]), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    staff: Staff,
    deps: web::Data<Deps>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (department, mine) = if staff.0.role == Role::Supervisor {
        let d = query
            .department
            .clone()
            .ok_or_else(|| ApiError::invalid("department", "supervisors say which department"))?;
        (d, None)
    } else {
        let m = member(store, &staff).await?;
        if query
            .department
            .as_ref()
            .is_some_and(|d| *d != m.department)
        {
            return Ok(HttpResponse::Ok().json(Vec::<Escalation>::new()));
        }
        let mine = query.mine.unwrap_or(false).then(|| m.user.login.clone());
        (m.department, mine)
    };
    let is_mine = |e: &Escalation| {
        mine.as_deref()
            .is_none_or(|l| e.assignee.as_deref() == Some(l) || e.answered_by.as_deref() == Some(l))
    };
    let status = query.status.unwrap_or_default();
    let mut out: Vec<Escalation> = Vec::new();
    if status != ListStatus::Answered {
        out.extend(
            store
                .active_escalations(&department)
                .await?
                .into_iter()
                .filter(|e| is_mine(e)),
        );
    }
    if status != ListStatus::Active && out.len() < LIST_LIMIT {
        // `mine` filters after reading: read further back so it still finds up to a page.
        let read = if mine.is_some() {
            LIST_LIMIT * 10
        } else {
            LIST_LIMIT
        };
        out.extend(
            store
                .answered_escalations(&department, i64::MIN, read)
                .await?
                .into_iter()
                .filter(|e| is_mine(e)),
        );
    }
    out.truncate(LIST_LIMIT);
    Ok(HttpResponse::Ok().json(out))
}

/// One escalation, with its path and steps.
#[utoipa::path(get, path = "/api/v1/escalations/{id}",
    responses((status = 200, body = Escalation), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_one(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(readable(&deps.store, &staff, &id).await?))
}

/// Take the escalation (an open one, or one a colleague accepted: taking over). No body.
#[utoipa::path(post, path = "/api/v1/escalations/{id}/accept",
    responses((status = 200, body = Escalation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn accept(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (m, found) = actor(store, &staff, &id).await?;
    let now = OffsetDateTime::now_utc();
    let by = m.user.login.clone();
    let esc = commit(store, &m, found.id, |e| {
        e.accept(&by, now).map_err(refused)?;
        let detail = e.steps.last().and_then(|s| s.detail.clone());
        Ok((
            changed(kind::ESCALATION_ACCEPTED, e, &by, detail, None, now),
            vec![],
        ))
    })
    .await?;
    tracing::info!(escalation_id = %esc.id, by = %by, "escalation accepted");
    Ok(HttpResponse::Ok().json(esc))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInfoIn {
    /// What the department needs from the agent (1 to 10 000 characters).
    #[schema(format = "text", max_length = 10000)]
    pub question: String,
}

/// Ask the agent for information; the department's deadline stops until it is given.
#[utoipa::path(post, path = "/api/v1/escalations/{id}/request-info", request_body = RequestInfoIn,
    responses((status = 200, body = Escalation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn request_info(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<RequestInfoIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (m, found) = actor(store, &staff, &id).await?;
    let question = text("question", &body.question)?;
    let now = OffsetDateTime::now_utc();
    let by = m.user.login.clone();
    let esc = commit(store, &m, found.id, |e| {
        e.request_info(&by, &question, now).map_err(refused)?;
        Ok((
            changed(
                kind::ESCALATION_INFO_REQUESTED,
                e,
                &by,
                Some(question.clone()),
                None,
                now,
            ),
            vec![],
        ))
    })
    .await?;
    tracing::info!(escalation_id = %esc.id, by = %by, "information requested from the agent");
    Ok(HttpResponse::Ok().json(esc))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    /// The department's answer (1 to 10 000 characters).
    #[schema(format = "text", max_length = 10000)]
    pub text: String,
    /// `resolved` (the cause is fixed) or `decision` (default: a decision the agent passes on).
    #[serde(default)]
    pub outcome: Option<AnswerOutcome>,
}

/// Answer the escalation; the answer returns to the request and its agent.
#[utoipa::path(post, path = "/api/v1/escalations/{id}/answer", request_body = AnswerIn,
    responses((status = 200, body = Escalation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn answer(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<AnswerIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (m, found) = actor(store, &staff, &id).await?;
    let answer_text = text("text", &body.text)?;
    let outcome = body.outcome.unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let by = m.user.login.clone();
    let keys = store.keys();
    let esc = commit(store, &m, found.id, |e| {
        e.answer(&by, &answer_text, outcome, now).map_err(refused)?;
        let payload = EscalationAnswered {
            escalation_id: e.id,
            department: e.department.clone(),
            by: by.clone(),
            text: answer_text.clone(),
            outcome,
        };
        let event = journey(kind::ESCALATION_ANSWERED, e, &payload, now);
        Ok((event, answered_ops(keys, e, now)))
    })
    .await?;
    tracing::info!(escalation_id = %esc.id, request_id = %esc.request_id, "escalation answered");
    Ok(HttpResponse::Ok().json(esc))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// Why it is not this department's (1 to 10 000 characters).
    #[schema(format = "text", max_length = 10000)]
    pub reason: String,
    /// The department it belongs to: must exist and be another one.
    #[schema(max_length = 32)]
    pub department: String,
}

/// Reject as the wrong department: the escalation moves, open, to the first line of `department`
/// with that department's deadline. Bounced more than `escalation.max_bounces` times, it is
/// flagged for the quality team.
#[utoipa::path(post, path = "/api/v1/escalations/{id}/reject", request_body = RejectIn,
    responses((status = 200, description = "now in the other department", body = Escalation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reject(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<RejectIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let (m, found) = actor(store, &staff, &id).await?;
    let reason = text("reason", &body.reason)?;
    let to = body.department.trim().to_owned();
    if to == m.department {
        return Err(ApiError::invalid(
            "department",
            "the escalation is already in this department",
        ));
    }
    let target = store
        .department(&to)
        .await?
        .ok_or_else(|| ApiError::invalid("department", "no such department"))?;
    let now = OffsetDateTime::now_utc();
    let due = deadlines::due(&deps.settings, Some(&target), &found, now);
    let max_bounces = deps.settings.escalation.max_bounces;
    let by = m.user.login.clone();
    let keys = store.keys();
    let mut flagged_now = false;
    let esc = commit(store, &m, found.id, |e| {
        let from = e.department.clone();
        flagged_now = e
            .reject(&by, &reason, &to, Some(due), max_bounces, now)
            .map_err(refused)?;
        let member = e.id.to_string();
        let mut ops = vec![
            Op::ZRem {
                key: keys.department_escalations(&from),
                member: member.clone(),
            },
            Op::ZAdd {
                key: keys.department_escalations(&to),
                member: member.clone(),
                score: ms(e.created_at),
            },
        ];
        if flagged_now {
            ops.push(Op::ZAdd {
                key: keys.esc_flagged(),
                member,
                score: ms(now),
            });
            // The flag's own event rides in the same commit as the reroute.
            let detail = Some(e.path.join(" -> "));
            let flag = changed(kind::ESCALATION_FLAGGED, e, SYSTEM, detail, None, now);
            ops.push(Op::Event {
                kind: flag.kind.clone(),
                json: serde_json::to_string(&flag).unwrap_or_default(),
            });
        }
        let event = changed(
            kind::ESCALATION_REROUTED,
            e,
            &by,
            Some(reason.clone()),
            Some(from),
            now,
        );
        Ok((event, ops))
    })
    .await?;
    tracing::info!(escalation_id = %esc.id, to = %to, bounces = esc.bounces, "escalation rerouted");
    if flagged_now {
        tracing::warn!(escalation_id = %esc.id, path = %esc.path.join(" -> "), "escalation flagged: bounced between departments");
    }
    Ok(HttpResponse::Ok().json(esc))
}

/// A department's load and deadline figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentStats {
    pub department: String,
    /// Escalations waiting for the department (open, accepted, info requested).
    pub active: u64,
    /// Active escalations by status (`open`, `accepted`, `info_requested`).
    pub by_status: BTreeMap<String, u64>,
    /// Active escalations by the tier responsible (`first_line`, `second_line`, `head`).
    pub by_tier: BTreeMap<String, u64>,
    /// Active escalations past a deadline now: their due time has passed (the watcher has not
    /// moved them yet), or the head's deadline was breached and none is left. Waiting for the
    /// agent stops the clock, so those are not counted.
    pub overdue: u64,
    /// Deadline breaches recorded for the department, ever.
    pub breached_total: u64,
    pub answered_7d: u64,
    pub answered_30d: u64,
    /// Median minutes from escalation to answer (wall clock) over the last 30 days' answers.
    pub median_answer_minutes: Option<f64>,
    /// 90th percentile (nearest rank) of the same.
    pub p90_answer_minutes: Option<f64>,
    /// Share (0..1) of the last 30 days' answers given with no deadline breached.
    pub answered_within_deadline: Option<f64>,
    /// Escalations flagged for bouncing between departments that passed through this one.
    pub bounced: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Supervisors: which department (required); heads: their own (the default).
    #[serde(default)]
    pub department: Option<String>,
}

/// The answers the figures of 30 days are computed over, at most.
const STATS_ANSWERS: usize = 10_000;

/// The department's figures: heads their own department's, supervisors any department's.
#[utoipa::path(get, path = "/api/v1/department/stats", params(StatsQuery),
    responses((status = 200, body = DepartmentStats), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn stats(
    staff: Staff,
    deps: web::Data<Deps>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let department = if staff.0.role == Role::Supervisor {
        let d = query
            .department
            .clone()
            .ok_or_else(|| ApiError::invalid("department", "supervisors say which department"))?;
        store
            .department(&d)
            .await?
            .ok_or(ApiError::NotFound("department"))?
            .code
    } else {
        let m = member(store, &staff).await?;
        if m.tier != Tier::Head {
            return Err(ApiError::Forbidden(
                "this needs the head of the department (level 3)",
            ));
        }
        if query
            .department
            .as_ref()
            .is_some_and(|d| *d != m.department)
        {
            return Err(ApiError::NotFound("department"));
        }
        m.department
    };
    Ok(HttpResponse::Ok().json(figures(store, &department, OffsetDateTime::now_utc()).await?))
}

async fn figures(
    store: &Store,
    department: &str,
    now: OffsetDateTime,
) -> Result<DepartmentStats, ApiError> {
    let keys = store.keys();
    let active = store.active_escalations(department).await?;
    let mut by_status: BTreeMap<String, u64> = [
        EscalationStatus::Open,
        EscalationStatus::Accepted,
        EscalationStatus::InfoRequested,
    ]
    .iter()
    .map(|s| (s.as_str().to_owned(), 0))
    .collect();
    let mut by_tier: BTreeMap<String, u64> = [Tier::FirstLine, Tier::SecondLine, Tier::Head]
        .iter()
        .map(|t| (t.as_str().to_owned(), 0))
        .collect();
    let mut overdue = 0;
    for e in &active {
        *by_status.entry(e.status.as_str().to_owned()).or_default() += 1;
        *by_tier.entry(e.tier.as_str().to_owned()).or_default() += 1;
        let late = match e.due_at {
            Some(due) => due < now,
            None => e.breaches > 0,
        };
        if late && e.paused_at.is_none() {
            overdue += 1;
        }
    }
    let answered_key = keys.department_answered(department);
    let since_30 = ms(now - Duration::days(30));
    let recent = store
        .answered_escalations(department, since_30, STATS_ANSWERS)
        .await?;
    let mut minutes: Vec<f64> = recent
        .iter()
        .filter_map(|e| {
            e.answered_at
                .map(|a| (a - e.created_at).as_seconds_f64() / 60.0)
        })
        .collect();
    minutes.sort_by(f64::total_cmp);
    let within = recent.iter().filter(|e| e.breaches == 0).count();
    let bounced = store
        .flagged_escalations(STATS_ANSWERS)
        .await?
        .iter()
        .filter(|e| e.path.iter().any(|d| d == department))
        .count();
    Ok(DepartmentStats {
        department: department.to_owned(),
        active: active.len() as u64,
        by_status,
        by_tier,
        overdue,
        breached_total: store
            .count_since(&keys.department_breached(department), i64::MIN)
            .await?,
        answered_7d: store
            .count_since(&answered_key, ms(now - Duration::days(7)))
            .await?,
        answered_30d: store.count_since(&answered_key, since_30).await?,
        median_answer_minutes: nearest_rank(&minutes, 0.5),
        p90_answer_minutes: nearest_rank(&minutes, 0.9),
        answered_within_deadline: (!recent.is_empty())
            .then(|| round(within as f64 / recent.len() as f64, 1000.0)),
        bounced: bounced as u64,
    })
}

fn round(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

/// The nearest-rank percentile `p` (0..1] of sorted values, to a tenth; none of no values.
fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .map(|v| round(*v, 10.0))
}

/// Escalations flagged for bouncing between departments (at most 500), newest flag first, each
/// with its path and steps: for the quality team (supervisors).
#[utoipa::path(get, path = "/api/v1/quality/bounced",
    responses((status = 200, body = [Escalation]), (status = 403, body = Problem)))]
pub async fn bounced(staff: Staff, deps: web::Data<Deps>) -> Result<HttpResponse, ApiError> {
    staff.require_supervisor()?;
    Ok(HttpResponse::Ok().json(deps.store.flagged_escalations(LIST_LIMIT).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 0.5), None);
        let v = [10.0, 20.0, 60.0];
        assert_eq!(nearest_rank(&v, 0.5), Some(20.0));
        assert_eq!(nearest_rank(&v, 0.9), Some(60.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&ten, 0.9), Some(9.0));
        assert_eq!(nearest_rank(&[7.25], 0.9), Some(7.3));
    }
}
