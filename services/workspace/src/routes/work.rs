//! The queue and the actions on one request. Agents reply, escalate and resolve only requests they
//! own, supervisors any; any agent may add an internal note (colleagues leave hints).

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::events::{Envelope, RequestChanged, RequestEscalated, kind};
use komek_domain::staff::Role;
use komek_domain::{EscalationRef, HistoryEntry, Request, RequestId, Status};
use komek_store::Store;
use komek_store::requests::Mutation;
use komek_web::{ApiError, StrictJson};

use crate::Deps;
use crate::effects::resume_clock;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(queue, next, get_request, reply, note, escalate, resolve),
    components(schemas(
        Text,
        ReplyIn,
        EscalationIn,
        ResolveIn,
        QueueView,
        RequestView,
        Escalated
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/queue", web::get().to(queue))
        .route("/api/v1/queue/next", web::post().to(next))
        .route("/api/v1/requests/{id}", web::get().to(get_request))
        .route("/api/v1/requests/{id}/replies", web::post().to(reply))
        .route("/api/v1/requests/{id}/notes", web::post().to(note))
        .route(
            "/api/v1/requests/{id}/escalations",
            web::post().to(escalate),
        )
        .route("/api/v1/requests/{id}/resolve", web::post().to(resolve));
}

const MAX_TEXT: usize = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// 1 to 10000 characters; no control character but newline and tab.
    #[schema(format = "text", max_length = 10000)]
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyIn {
    /// 1 to 10000 characters; no control character but newline and tab.
    #[schema(format = "text", max_length = 10000)]
    pub text: String,
    /// The reply asks the customer for something: the request waits for them and its resolution
    /// clock stops until they answer or the agent acts on it again.
    #[serde(default)]
    pub wait_for_customer: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationIn {
    /// Department code, e.g. billing (an unknown one is 422).
    #[schema(max_length = 32)]
    pub department: String,
    /// 1 to 10000 characters; no control character but newline and tab.
    #[schema(format = "text", max_length = 10000)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// 1 to 10000 characters; no control character but newline and tab.
    #[schema(format = "text", max_length = 10000)]
    pub resolution: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueView {
    /// Requests waiting for an agent, oldest first (at most 100).
    pub waiting: Vec<Request>,
    pub waiting_total: u64,
    /// Open requests the caller owns.
    pub mine: Vec<Request>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    pub request: Request,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Escalated {
    pub escalation_id: Uuid,
    pub department: String,
    pub request: Request,
}

pub(crate) fn text(field: &str, raw: &str) -> Result<String, ApiError> {
    komek_domain::text::BoundedText::<MAX_TEXT>::parse(raw)
        .map(String::from)
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}

pub(crate) fn request_id(raw: &str) -> Result<RequestId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("request"))
}

/// The request a path names, for an agent (403 for other staff); 404 for an id that is malformed
/// or names no request.
pub(crate) async fn find_request(
    staff: &Staff,
    store: &Store,
    raw: &str,
) -> Result<Request, ApiError> {
    staff.require_agent()?;
    store
        .request(request_id(raw)?)
        .await?
        .ok_or(ApiError::NotFound("request"))
}

/// The caller as an agent and the request its path names: the prologue of every action.
pub(crate) fn agent_on(staff: &Staff, raw: &str) -> Result<RequestId, ApiError> {
    staff.require_agent()?;
    request_id(raw)
}

/// Whether an action is only for the request's owner (or a supervisor) or for any agent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Owner,
    AnyAgent,
}

/// The one way an agent's action changes a request: `Who::Owner` actions check [`may_act`] on the
/// request as read, and the change is committed with its event under the store's optimistic lock
/// (the closure may run again on a conflict).
pub(crate) async fn act(
    store: &Store,
    staff: &Staff,
    id: RequestId,
    who: Who,
    mut change: impl FnMut(&mut Request) -> Result<(HistoryEntry, Envelope), ApiError>,
) -> Result<Request, ApiError> {
    let r = store
        .update_request(id, None, |r| {
            if who == Who::Owner {
                may_act(staff, r)?;
            }
            let (change, e) = change(r)?;
            Ok(Mutation {
                change,
                event: Some(e),
                ops: vec![],
            })
        })
        .await?;
    Ok(r)
}

/// Only the owner (or a supervisor) acts on a request.
pub(crate) fn may_act(staff: &Staff, r: &Request) -> Result<(), ApiError> {
    if staff.0.role == Role::Supervisor || r.owner.as_deref() == Some(staff.login()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("this request belongs to another agent"))
    }
}

pub(crate) fn event<P: Serialize>(
    kind: &str,
    r: &Request,
    payload: &P,
    now: OffsetDateTime,
) -> Envelope {
    komek_bus::journey_event(kind, r.id, r.trace.as_deref(), payload, now)
}

fn changed(r: &Request, actor: &str, detail: Option<String>) -> RequestChanged {
    RequestChanged {
        number: r.number.clone(),
        actor: actor.to_owned(),
        detail,
    }
}

/// The waiting queue and the caller's own open requests.
#[utoipa::path(get, path = "/api/v1/queue", security(("bearer" = [])),
    responses((status = 200, body = QueueView), (status = 401, body = komek_web::error::Problem)))]
pub async fn queue(staff: Staff, deps: web::Data<crate::Deps>) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_agent()?;
    let waiting = store.queue(100).await?;
    let waiting_total = store.queue_len().await?;
    let mine = store
        .owned(staff.login())
        .await?
        .into_iter()
        .filter(|r| r.status.is_open())
        .collect();
    Ok(HttpResponse::Ok().json(QueueView {
        waiting,
        waiting_total,
        mine,
    }))
}

/// Take the oldest waiting request; 204 when none waits.
#[utoipa::path(post, path = "/api/v1/queue/next", security(("bearer" = [])),
    responses((status = 200, body = Request), (status = 204, description = "Nothing waits")))]
pub async fn next(staff: Staff, deps: web::Data<crate::Deps>) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_agent()?;
    let agent = store
        .user(staff.login())
        .await?
        .ok_or(ApiError::Unauthorized("this account no longer exists"))?;
    let taken = store
        .take_next_for(&agent, |e, r| {
            let _journey = komek_telemetry::journey(&e.kind, r.trace.as_deref()).entered();
            komek_bus::stamp(e);
        })
        .await?;
    match taken {
        Some(r) => {
            tracing::info!(request_id = %r.id, agent = staff.login(), "request assigned");
            Ok(HttpResponse::Ok().json(r))
        }
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

/// One request with its whole history.
#[utoipa::path(get, path = "/api/v1/requests/{id}", security(("bearer" = [])),
    responses((status = 200, body = RequestView), (status = 404, body = komek_web::error::Problem)))]
pub async fn get_request(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff.require_agent()?;
    let (request, history) = deps
        .store
        .request_with_history(request_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("request"))?;
    Ok(HttpResponse::Ok().json(RequestView { request, history }))
}

/// A customer-visible reply.
#[utoipa::path(post, path = "/api/v1/requests/{id}/replies", request_body = ReplyIn, security(("bearer" = [])),
    responses((status = 200, body = Request), (status = 403, body = komek_web::error::Problem), (status = 409, body = komek_web::error::Problem)))]
pub async fn reply(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<ReplyIn>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_on(&staff, &id)?;
    let t = text("text", &body.text)?;
    let now = OffsetDateTime::now_utc();
    let r = act(&deps.store, &staff, id, Who::Owner, |r| {
        let before = r.status;
        let change = if body.wait_for_customer {
            r.ask_customer(staff.login(), &t, now)?
        } else {
            r.reply(staff.login(), &t, now)?
        };
        let e = event(
            kind::REQUEST_REPLIED,
            r,
            &changed(r, staff.login(), Some(t.clone())),
            now,
        );
        // The first reply meets the first-response deadline; the store stops watching it.
        resume_clock(&deps, r, before, now);
        Ok((change, e))
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// An internal note (never shown to the customer).
#[utoipa::path(post, path = "/api/v1/requests/{id}/notes", request_body = Text, security(("bearer" = [])),
    responses((status = 200, body = Request)))]
pub async fn note(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<Text>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_on(&staff, &id)?;
    let t = text("text", &body.text)?;
    let now = OffsetDateTime::now_utc();
    let r = act(&deps.store, &staff, id, Who::AnyAgent, |r| {
        let change = r.note(staff.login(), &t, now);
        let e = event(
            kind::REQUEST_NOTE_ADDED,
            r,
            &changed(r, staff.login(), None),
            now,
        );
        Ok((change, e))
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Hand the request to a department; its answer comes back to this request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/escalations", request_body = EscalationIn, security(("bearer" = [])),
    responses((status = 201, body = Escalated), (status = 422, body = komek_web::error::Problem), (status = 409, body = komek_web::error::Problem)))]
pub async fn escalate(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<EscalationIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let id = agent_on(&staff, &id)?;
    let reason = text("reason", &body.reason)?;
    let code = body.department.trim().to_lowercase();
    if code.len() > 32 || store.department(&code).await?.is_none() {
        let known: Vec<String> = store
            .departments()
            .await?
            .into_iter()
            .map(|d| d.code)
            .collect();
        return Err(ApiError::invalid(
            "department",
            format!("unknown department; one of: {}", known.join(", ")),
        ));
    }
    let escalation_id = Uuid::now_v7();
    let now = OffsetDateTime::now_utc();
    let r = act(store, &staff, id, Who::Owner, |r| {
        let before = r.status;
        let change = r.escalate(
            staff.login(),
            EscalationRef {
                id: escalation_id,
                department: code.clone(),
                question: None,
            },
            &reason,
            now,
        )?;
        let payload = RequestEscalated {
            number: r.number.clone(),
            escalation_id,
            department: code.clone(),
            reason: reason.clone(),
            agent: staff.login().to_owned(),
        };
        resume_clock(&deps, r, before, now);
        Ok((change, event(kind::REQUEST_ESCALATED, r, &payload, now)))
    })
    .await?;
    tracing::info!(request_id = %r.id, department = %code, %escalation_id, "escalated");
    Ok(HttpResponse::Created().json(Escalated {
        escalation_id,
        department: code,
        request: r,
    }))
}

/// Resolve the request; the customer then gets a survey.
#[utoipa::path(post, path = "/api/v1/requests/{id}/resolve", request_body = ResolveIn, security(("bearer" = [])),
    responses((status = 200, body = Request), (status = 409, body = komek_web::error::Problem)))]
pub async fn resolve(
    staff: Staff,
    deps: web::Data<Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<ResolveIn>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_on(&staff, &id)?;
    let resolution = text("resolution", &body.resolution)?;
    let now = OffsetDateTime::now_utc();
    let r = act(&deps.store, &staff, id, Who::Owner, |r| {
        Ok(crate::effects::resolve(
            &deps,
            r,
            staff.login(),
            &resolution,
            now,
        )?)
    })
    .await?;
    debug_assert_eq!(r.status, Status::Resolved);
    Ok(HttpResponse::Ok().json(r))
}
