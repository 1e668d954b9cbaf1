//! Live updates: agents and supervisors keep a WebSocket open and are told within a second of a
//! new offer, an assignment or reassignment, a department's answer, a reopening or a deadline
//! warning, on whichever replica they are connected to.
//!
//! The sessions and the per-replica hub are shared with the department page
//! ([`komek_web::live`]); this module decides who an event concerns.

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use komek_auth::Tokens;
use komek_domain::events::{Envelope, kind};
use komek_domain::staff::Role;
use komek_store::Store;
use komek_web::ApiError;
use komek_web::live::{Deliver, Hub, Listener, LiveQuery, Push};
use serde::Serialize;

/// `GET /api/v1/live?token=...`: the agents' and supervisors' WebSocket.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<LiveQuery>,
    tokens: web::Data<Tokens>,
    store: web::Data<Store>,
    hub: web::Data<Addr<Hub>>,
) -> Result<HttpResponse, ApiError> {
    // A signed-out or expired session, a deactivated person, or a token from before a password
    // reset opens no socket; the socket closes when its session ends (`sessions::watch`).
    let staff = komek_auth::authenticate(&store, &tokens, &query.token).await?;
    if staff.0.role == Role::DepartmentStaff {
        return Err(ApiError::Forbidden(
            "live updates are for agents and supervisors",
        ));
    }
    let watch = komek_auth::sessions::watch(&store, &tokens, &staff);
    let who = Listener {
        login: staff.0.sub,
        role: staff.0.role,
        department: None,
    };
    komek_web::live::open(&req, body, who, &hub, Some(watch))
}

/// What a live notification says.
#[derive(Serialize)]
struct Note<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    /// None for events about a problem as a whole (nil request id in the envelope).
    request_id: Option<String>,
    number: Option<String>,
    status: Option<String>,
    owner: Option<String>,
    priority: Option<String>,
    payload: &'a serde_json::Value,
}

/// The event kinds the agents' page is told of: all of them, since supervisors see every event
/// in their live feed (and the page reloads its queue, the open request and the supervision panel
/// on each). This replica's live queue is bound to these keys (`komek_bus::run_fanout`).
pub const PUSHED: &[&str] = kind::ALL;

/// Turns an event into a push for the request's owner (and the offered agent) and supervisors.
/// An event about no request (a problem opened by spike detection, confirmed, resolved: nil
/// request id) goes to the supervisors only, without a request lookup.
pub async fn on_event(store: Store, hub: Addr<Hub>, env: Envelope) {
    if !PUSHED.contains(&env.kind.as_str()) || !komek_web::live::listening() {
        return;
    }
    let about_request = !env.request_id.0.is_nil();
    let request = if about_request {
        store.request(env.request_id).await.ok().flatten()
    } else {
        None
    };
    let mut logins: Vec<String> = request
        .as_ref()
        .and_then(|r| r.owner.clone())
        .into_iter()
        .collect();
    if let Some(agent) = env.payload.get("agent").and_then(|a| a.as_str())
        && about_request
    {
        logins.push(agent.to_owned());
    }
    let note = Note {
        kind: &env.kind,
        request_id: about_request.then(|| env.request_id.to_string()),
        number: request.as_ref().map(|r| r.number.0.clone()),
        status: request.as_ref().map(|r| r.status.as_str().to_owned()),
        owner: request.as_ref().and_then(|r| r.owner.clone()),
        priority: request.as_ref().map(|r| r.priority.as_str().to_owned()),
        payload: &env.payload,
    };
    if let Ok(json) = serde_json::to_string(&note) {
        let all = matches!(
            env.kind.as_str(),
            kind::REQUEST_QUEUED
                | kind::REQUEST_ASSIGNED
                | kind::REQUEST_HANDED_BACK
                | kind::OFFER_EXPIRED
                | kind::OFFER_DECLINED
        );
        hub.do_send(Deliver {
            logins,
            departments: Vec::new(),
            all,
            push: Push(json),
        });
    }
}
