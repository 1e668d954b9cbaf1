//! Live updates: agents and supervisors keep a WebSocket open and are told within a second of a
//! new offer, an assignment or reassignment, a department's answer, a reopening or a deadline
//! warning, on whichever replica they are connected to.
//!
//! - Every replica receives every event through its own private queue ([`komek_bus::run_fanout`]).
//! - A [`Hub`] actor per replica knows the sessions connected to it and who they are.
//! - Each connection is a [`WsSession`] actor; the hub sends it [`Push`] messages it writes out.
//!
//! Pushes are notifications, not state: the page reloads what it shows from the API.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use komek_auth::{Claims, Tokens};
use komek_domain::events::{Envelope, kind};
use komek_domain::staff::Role;
use komek_store::Store;
use komek_web::ApiError;
use serde::Serialize;

/// One notification, already JSON.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Push(pub String);

#[derive(Message)]
#[rtype(result = "()")]
struct Join {
    id: u64,
    login: String,
    role: Role,
    to: Recipient<Push>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Leave {
    id: u64,
}

/// Deliver `push` to the sessions of `logins` and of every supervisor, or to everyone when `all`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub logins: Vec<String>,
    /// The waiting queue changed: every agent's queue view is concerned.
    pub all: bool,
    pub push: Push,
}

/// The sessions connected to this replica.
#[derive(Default)]
pub struct Hub {
    sessions: HashMap<u64, (String, Role, Recipient<Push>)>,
}

impl Actor for Hub {
    type Context = Context<Self>;
}

impl Handler<Join> for Hub {
    type Result = ();
    fn handle(&mut self, m: Join, _: &mut Context<Self>) {
        self.sessions.insert(m.id, (m.login, m.role, m.to));
    }
}

impl Handler<Leave> for Hub {
    type Result = ();
    fn handle(&mut self, m: Leave, _: &mut Context<Self>) {
        self.sessions.remove(&m.id);
    }
}

impl Handler<Deliver> for Hub {
    type Result = ();
    fn handle(&mut self, m: Deliver, _: &mut Context<Self>) {
        for (login, role, to) in self.sessions.values() {
            if m.all || *role == Role::Supervisor || m.logins.iter().any(|l| l == login) {
                to.do_send(m.push.clone());
            }
        }
    }
}

impl Hub {
    /// Starts the hub on an actix system of its own, so it runs whatever runtime builds the app.
    pub fn start_detached() -> Addr<Hub> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let _ = tx.send(Hub::default().start());
            });
            let _ = system.run();
        });
        // The thread sends the address as its first act; a failure here is a start-up failure.
        rx.recv().unwrap_or_else(|_| {
            tracing::error!("the live-update hub did not start");
            std::process::exit(1)
        })
    }
}

/// One WebSocket connection.
pub struct WsSession {
    id: u64,
    claims: Claims,
    ws: actix_ws::Session,
    hub: Addr<Hub>,
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.hub.do_send(Join {
            id: self.id,
            login: self.claims.sub.clone(),
            role: self.claims.role,
            to: ctx.address().recipient(),
        });
        // Keep idle connections alive through proxies.
        ctx.run_interval(Duration::from_secs(15), |act, ctx| {
            let mut ws = act.ws.clone();
            ctx.spawn(
                async move { ws.ping(b"").await.is_ok() }
                    .into_actor(act)
                    .map(|ok, _, ctx| {
                        if !ok {
                            ctx.stop()
                        }
                    }),
            );
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.hub.do_send(Leave { id: self.id });
    }
}

impl Handler<Push> for WsSession {
    type Result = ();
    fn handle(&mut self, m: Push, ctx: &mut Context<Self>) {
        let mut ws = self.ws.clone();
        ctx.spawn(
            async move { ws.text(m.0).await.is_ok() }
                .into_actor(self)
                .map(|ok, _, ctx| {
                    if !ok {
                        ctx.stop()
                    }
                }),
        );
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Closed;

impl Handler<Closed> for WsSession {
    type Result = ();
    fn handle(&mut self, _: Closed, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[derive(serde::Deserialize)]
pub struct LiveQuery {
    token: String,
}

/// `GET /api/v1/live?token=...`: the WebSocket (browsers cannot set headers on it, so the
/// token comes in the query string).
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<LiveQuery>,
    tokens: web::Data<Tokens>,
    hub: web::Data<Addr<Hub>>,
) -> Result<HttpResponse, ApiError> {
    let claims = tokens
        .verify(&query.token)
        .ok_or(ApiError::Unauthorized("the token is invalid or expired"))?;
    if claims.role == Role::DepartmentStaff {
        return Err(ApiError::Forbidden(
            "live updates are for agents and supervisors",
        ));
    }
    let (response, ws, mut stream) =
        actix_ws::handle(&req, body).map_err(|_| ApiError::BadRequest {
            field: None,
            message: "expected a WebSocket upgrade".into(),
        })?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let login = claims.sub.clone();
    let session = WsSession {
        id,
        claims,
        ws: ws.clone(),
        hub: hub.get_ref().clone(),
    }
    .start();
    let mut pong = ws;
    actix_web::rt::spawn(async move {
        while let Some(Ok(msg)) = stream.recv().await {
            match msg {
                actix_ws::Message::Ping(b) if pong.pong(&b).await.is_err() => {
                    break;
                }
                actix_ws::Message::Close(_) => break,
                _ => {}
            }
        }
        session.do_send(Closed);
    });
    tracing::info!(agent = %login, session = id, "live connection opened");
    Ok(response)
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

/// Turns an event into a push for the request's owner (and the offered agent) and supervisors.
/// An event about no request (a problem opened by spike detection, confirmed, resolved: nil
/// request id) goes to the supervisors only, without a request lookup.
pub async fn on_event(store: Store, hub: Addr<Hub>, env: Envelope) {
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
            all,
            push: Push(json),
        });
    }
}
