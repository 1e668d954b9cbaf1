//! Presence, reassignment and the views supervisors work from: agents and their load, the
//! waiting queues with their ages, and the deadline watch list.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::events::{Envelope, kind};
use komek_domain::staff::{Presence, Role, User, UserView};
use komek_domain::{Request, RequestId, Status};
use komek_store::requests::Mutation;
use komek_store::{Store, routing};
use komek_web::{ApiError, Code, StrictJson};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceIn {
    pub state: Presence,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PresenceOut {
    pub state: Presence,
    /// Untouched requests given back to the queue because the agent went offline.
    pub handed_back: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignIn {
    /// Login of the agent who takes the request over.
    pub agent: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentState {
    pub user: UserView,
    pub presence: Presence,
    /// Open requests held now.
    pub load: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueStat {
    pub category: String,
    pub language: String,
    pub waiting: u64,
    /// Age of the oldest waiting request, in seconds.
    pub oldest_age_secs: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupervisorView {
    pub agents: Vec<AgentState>,
    pub queues: Vec<QueueStat>,
    /// Open requests that breached a deadline, most recent breach first.
    pub watchlist: Vec<Request>,
}

use komek_bus::request_changed as event;

fn require_supervisor(staff: &Staff) -> Result<(), ApiError> {
    if staff.0.role == Role::Supervisor {
        Ok(())
    } else {
        Err(ApiError::Forbidden("this needs a supervisor"))
    }
}

/// Set the caller's presence. Going offline gives the requests they have not touched back to the queue.
#[utoipa::path(put, path = "/api/v1/presence", request_body = PresenceIn, security(("bearer" = [])),
    responses((status = 200, body = PresenceOut), (status = 403, body = komek_web::error::Problem)))]
pub async fn presence(
    staff: Staff,
    store: web::Data<Store>,
    StrictJson(body): StrictJson<PresenceIn>,
) -> Result<HttpResponse, ApiError> {
    staff.require_agent()?;
    let user = store
        .user(staff.login())
        .await?
        .ok_or(ApiError::Unauthorized("this account no longer exists"))?;
    store.set_presence(&user, body.state).await?;
    let mut handed_back = Vec::new();
    if body.state == Presence::Offline {
        for r in store.owned(&user.login).await? {
            if r.status == Status::Assigned
                && r.first_response_at.is_none()
                && hand_back(&store, r.id, &user).await?
            {
                handed_back.push(r.number.0.clone());
            }
        }
    }
    tracing::info!(agent = %user.login, state = body.state.as_str(), handed_back = handed_back.len(), "presence");
    Ok(HttpResponse::Ok().json(PresenceOut {
        state: body.state,
        handed_back,
    }))
}

async fn hand_back(store: &Store, id: RequestId, user: &User) -> Result<bool, ApiError> {
    let now = OffsetDateTime::now_utc();
    let result = store
        .update_request(id, None, |r| {
            if r.status != Status::Assigned || r.owner.as_deref() != Some(user.login.as_str()) {
                return Err(ApiError::Conflict(
                    Code::TakenMeanwhile,
                    "not untouched any more".into(),
                ));
            }
            // Back into its queues and out of the agent's set: the store derives both.
            let change = r.hand_back(now)?;
            Ok(Mutation {
                change,
                event: Some(event(kind::REQUEST_HANDED_BACK, r, &user.login, None, now)),
                ops: vec![],
            })
        })
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(komek_store::requests::UpdateError::Rejected(ApiError::Conflict(..))) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A supervisor gives a request to another agent (from the queue or from its owner).
#[utoipa::path(post, path = "/api/v1/requests/{id}/reassign", request_body = ReassignIn, security(("bearer" = [])),
    responses((status = 200, body = Request), (status = 403, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn reassign(
    staff: Staff,
    store: web::Data<Store>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<ReassignIn>,
) -> Result<HttpResponse, ApiError> {
    require_supervisor(&staff)?;
    let id: RequestId = id.parse().map_err(|_| ApiError::NotFound("request"))?;
    let target = match store.user(body.agent.trim()).await? {
        Some(u) if matches!(u.role, Role::Agent | Role::Supervisor) => u,
        _ => return Err(ApiError::invalid("agent", "no agent with this login")),
    };
    let now = OffsetDateTime::now_utc();
    let r = store
        .update_request(id, None, |r| {
            // Out of the queue (and any offer), out of the old owner's set and into the new
            // owner's: the store derives each from the change.
            let change = match r.status {
                Status::Queued => {
                    let mut c = r.assign(&target.login, now)?;
                    c.detail = Some(format!("queue -> {} (by {})", target.login, staff.login()));
                    c.actor = staff.login().to_owned();
                    c
                }
                s if s.is_open() && s != Status::New => {
                    r.reassign(&target.login, staff.login(), now)
                }
                _ => {
                    return Err(ApiError::Conflict(
                        Code::InvalidTransition,
                        format!("a {} request cannot be reassigned", r.status),
                    ));
                }
            };
            let detail = change.detail.clone();
            Ok(Mutation {
                change,
                event: Some(event(
                    kind::REQUEST_REASSIGNED,
                    r,
                    staff.login(),
                    detail,
                    now,
                )),
                ops: vec![],
            })
        })
        .await?;
    tracing::info!(request_id = %r.id, to = %target.login, by = staff.login(), "reassigned");
    Ok(HttpResponse::Ok().json(r))
}

/// Agents with presence and load, waiting queues with their ages, and the deadline watch list.
#[utoipa::path(get, path = "/api/v1/supervisor", security(("bearer" = [])),
    responses((status = 200, body = SupervisorView), (status = 403, body = komek_web::error::Problem)))]
pub async fn overview(staff: Staff, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    require_supervisor(&staff)?;
    let now = OffsetDateTime::now_utc();
    let mut agents = Vec::new();
    for u in store.staff().await? {
        if matches!(u.role, Role::Agent | Role::Supervisor) {
            agents.push(AgentState {
                presence: store.presence_of(&u.login).await?,
                load: store.load_of(&u.login).await?,
                user: UserView::from(&u),
            });
        }
    }
    let mut queues = Vec::new();
    for cat in routing::CATEGORIES {
        for lang in routing::LANGS {
            let key = store.keys().skill_queue(cat.as_str(), lang.as_str());
            let waiting = store.waiting_in(&key).await?;
            if waiting == 0 {
                continue;
            }
            let mut oldest_age_secs = None;
            for r in store.requests_in(&key).await? {
                let age = (now - r.created_at).whole_seconds();
                oldest_age_secs = Some(oldest_age_secs.map_or(age, |a: i64| a.max(age)));
            }
            queues.push(QueueStat {
                category: cat.as_str().into(),
                language: lang.as_str().into(),
                waiting,
                oldest_age_secs,
            });
        }
    }
    let mut watchlist = Vec::new();
    for id in store.watchlist(100).await? {
        if let Some(r) = store.request(id).await?
            && r.status.is_open()
        {
            watchlist.push(r);
        }
    }
    Ok(HttpResponse::Ok().json(SupervisorView {
        agents,
        queues,
        watchlist,
    }))
}

async fn me(staff: &Staff, store: &Store) -> Result<User, ApiError> {
    staff.require_agent()?;
    store
        .user(staff.login())
        .await?
        .ok_or(ApiError::Unauthorized("this account no longer exists"))
}

/// Accept a request offered to the caller: it becomes theirs.
#[utoipa::path(post, path = "/api/v1/offers/{id}/accept", security(("bearer" = [])),
    responses((status = 200, body = Request), (status = 409, body = komek_web::error::Problem)))]
pub async fn accept_offer(
    staff: Staff,
    store: web::Data<Store>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = me(&staff, &store).await?;
    let id: RequestId = id.parse().map_err(|_| ApiError::NotFound("offer"))?;
    if store.offered_to(id).await?.as_deref() != Some(user.login.as_str()) {
        return Err(ApiError::Conflict(
            Code::NotOffered,
            "this request is not offered to you (the offer may have expired)".into(),
        ));
    }
    let stamp = |e: &mut Envelope, r: &Request| {
        let _journey = komek_telemetry::journey(&e.kind, r.trace.as_deref()).entered();
        komek_bus::stamp(e);
    };
    let r = store.assign(id, &user, &stamp).await.map_err(|e| match e {
        komek_store::requests::UpdateError::Store(e) => ApiError::from(e),
        komek_store::requests::UpdateError::Precondition(0) => {
            ApiError::Conflict(Code::AtCapacity, "you are at capacity".into())
        }
        _ => ApiError::Conflict(
            Code::TakenMeanwhile,
            "this request was taken meanwhile".into(),
        ),
    })?;
    // The assignment's commit ended the offer (the store drops it as the request leaves the queue).
    tracing::info!(request_id = %id, agent = %user.login, "offer accepted");
    Ok(HttpResponse::Ok().json(r))
}

/// Decline an offer: the request goes back to its queue and to another agent if one fits.
#[utoipa::path(post, path = "/api/v1/offers/{id}/decline", security(("bearer" = [])),
    responses((status = 204, description = "Declined"), (status = 409, body = komek_web::error::Problem)))]
pub async fn decline_offer(
    staff: Staff,
    deps: web::Data<std::sync::Arc<crate::Deps>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = me(&staff, &deps.store).await?;
    let id: RequestId = id.parse().map_err(|_| ApiError::NotFound("offer"))?;
    crate::offers::decline(&deps, id, &user)
        .await
        .map_err(|e| match e {
            crate::offers::OfferError::NotYours => {
                ApiError::Conflict(Code::NotOffered, e.to_string())
            }
            crate::offers::OfferError::Store(e) => e.into(),
        })?;
    Ok(HttpResponse::NoContent().finish())
}

/// Requests currently offered to the caller.
#[utoipa::path(get, path = "/api/v1/offers", security(("bearer" = [])), responses((status = 200, body = [Request])))]
pub async fn my_offers(staff: Staff, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    let user = me(&staff, &store).await?;
    let out = store.offers_to(&user.login).await?;
    Ok(HttpResponse::Ok().json(out))
}
