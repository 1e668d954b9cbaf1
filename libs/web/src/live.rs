//! Live updates for the staff pages: a WebSocket per signed-in person, and a per-replica hub that
//! pushes notifications to the sessions they concern, on whichever replica each is connected to.
//!
//! - Every replica receives the events its service pushes (the service's `PUSHED` kinds), plus
//!   `staff.changed` for ending sessions, through its own private queue (`komek_bus::run_fanout`);
//!   each service decides who an event concerns ([`Deliver`]) and sends it to its [`Hub`].
//! - The hub knows the sessions connected to this replica: who, in which role and department.
//! - Each connection is a [`WsSession`] actor; the hub sends it [`Push`] messages it writes out.
//! - Each connection re-checks its sign-in every [`Watch::every`] (`auth.live_check_secs`) and
//!   closes when it has ended (sign-out, expiry), so a socket never outlives its session; a
//!   deactivation closes it at once through `staff.changed` as well.
//!
//! Pushes are notifications, not state: a page reloads what it shows from the API, and reloads
//! everything when its socket comes back after a break.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::events::Envelope;
use komek_domain::staff::Role;

use crate::ApiError;

/// One notification, already JSON.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Push(pub String);

/// Who is on the other end of a connection, as the service checked at connect time.
#[derive(Debug, Clone)]
pub struct Listener {
    pub login: String,
    pub role: Role,
    /// Department staff's department; `None` for agents and supervisors.
    pub department: Option<String>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Join {
    id: u64,
    who: Listener,
    to: Recipient<Push>,
    end: Recipient<End>,
    away: Recipient<GoingAway>,
}

/// Closes every session of `login` on this replica: the person was deactivated or given a new
/// password (`staff.changed`, see [`komek_domain::events::AdminChange::ends_sessions`]).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct EndSessions {
    pub login: String,
}

/// Whether a connection's sign-in still stands: `false` only when it has certainly ended (a
/// store outage must not close every socket).
pub type SessionCheck =
    std::sync::Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// How a connection keeps checking its sign-in.
#[derive(Clone)]
pub struct Watch {
    pub every: Duration,
    pub still_valid: SessionCheck,
}

/// Closes one session (the hub's order to a [`WsSession`]).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct End;

/// The replica is shutting down: every session is closed ("going away"), so its page reconnects
/// to another replica at once and the HTTP server's graceful stop is not held by open sockets.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct GoingAway;

#[derive(Message)]
#[rtype(result = "()")]
struct Leave {
    id: u64,
}

/// Deliver `push` to every supervisor, to the sessions of `logins`, to the staff of `departments`,
/// or to everyone when `all`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub logins: Vec<String>,
    pub departments: Vec<String>,
    pub all: bool,
    pub push: Push,
}

/// The sessions connected to this replica.
#[derive(Default)]
pub struct Hub {
    sessions: HashMap<u64, Joined>,
}

struct Joined {
    who: Listener,
    to: Recipient<Push>,
    end: Recipient<End>,
    away: Recipient<GoingAway>,
}

impl Actor for Hub {
    type Context = Context<Self>;
}

impl Handler<Join> for Hub {
    type Result = ();
    fn handle(&mut self, m: Join, _: &mut Context<Self>) {
        self.sessions.insert(
            m.id,
            Joined {
                who: m.who,
                to: m.to,
                end: m.end,
                away: m.away,
            },
        );
    }
}

impl Handler<EndSessions> for Hub {
    type Result = ();
    fn handle(&mut self, m: EndSessions, _: &mut Context<Self>) {
        for j in self.sessions.values().filter(|j| j.who.login == m.login) {
            j.end.do_send(End);
        }
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
        for j in self.sessions.values() {
            if concerns(&m.logins, &m.departments, m.all, &j.who) {
                j.to.do_send(m.push.clone());
            }
        }
    }
}

impl Handler<GoingAway> for Hub {
    type Result = ();
    fn handle(&mut self, m: GoingAway, _: &mut Context<Self>) {
        for j in self.sessions.values() {
            j.away.do_send(m);
        }
    }
}

/// Supervisors see everything; others what names them or their department.
fn concerns(logins: &[String], departments: &[String], all: bool, who: &Listener) -> bool {
    all || who.role == Role::Supervisor
        || logins.contains(&who.login)
        || who
            .department
            .as_ref()
            .is_some_and(|d| departments.contains(d))
}

impl crate::Runtime {
    /// Starts this replica's hub and its fan-out feed (a private queue named after `feed`, bound
    /// to the event kinds in `pushed` and to `staff.changed`, which can end sessions); each event
    /// goes to `on_event` with the hub, to decide whom it concerns.
    pub fn start_live<H, F>(&mut self, feed: &str, pushed: &[&str], on_event: H) -> Addr<Hub>
    where
        H: Fn(Addr<Hub>, Envelope) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let hub = Hub::start_detached();
        self.hubs.push(hub.clone());
        let (for_feed, settings, feed) = (hub.clone(), self.settings.clone(), feed.to_owned());
        let keys = feed_keys(pushed);
        self.spawn_task(move |shutdown| {
            komek_bus::run_fanout(
                settings,
                feed,
                keys,
                move |env| {
                    // Every replica sees the event: each closes the sessions it holds.
                    if let Some(login) = komek_domain::events::AdminChange::ends_sessions(&env) {
                        tracing::info!(user = %login, "ending live sessions");
                        for_feed.do_send(EndSessions { login });
                    }
                    on_event(for_feed.clone(), env)
                },
                shutdown,
            )
        });
        hub
    }

    /// The background work of a service that works requests (workspace, escalation): the
    /// consumer of its queue and its deadline watcher, both over the service's state `deps`, and
    /// its page's live feed (`komek-{service}-live`, bound to the kinds in `pushed`) over the
    /// store. Returns the hub that `/api/v1/live` connects to.
    pub fn start_work<D, H, F, W, WF, L, LF>(
        &mut self,
        service: &'static str,
        deps: std::sync::Arc<D>,
        (handle, watch, on_event): (H, W, L),
        pushed: &[&str],
    ) -> Addr<Hub>
    where
        D: Send + Sync + 'static,
        H: Fn(std::sync::Arc<D>, Envelope) -> F + Send + Sync + 'static,
        F: Future<Output = Result<(), komek_bus::HandleError>> + Send + 'static,
        W: FnOnce(std::sync::Arc<D>, tokio::sync::watch::Receiver<bool>) -> WF,
        WF: Future<Output = ()> + Send + 'static,
        L: Fn(komek_store::Store, Addr<Hub>, Envelope) -> LF + Send + Sync + 'static,
        LF: Future<Output = ()> + Send + 'static,
    {
        let for_consumer = deps.clone();
        self.spawn_consumer(service, move |event| handle(for_consumer.clone(), event));
        self.spawn_task(move |shutdown| watch(deps, shutdown));
        let store = self.store.clone();
        self.start_live(&format!("komek-{service}-live"), pushed, move |hub, env| {
            on_event(store.clone(), hub, env)
        })
    }
}

/// The routing keys of a live feed: the kinds its service pushes, and `staff.changed`, which
/// every replica reads to close the sessions of someone deactivated, reset or given a new role.
fn feed_keys(pushed: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = pushed.iter().map(|k| (*k).to_owned()).collect();
    keys.push(komek_domain::events::kind::STAFF_CHANGED.to_owned());
    keys.sort_unstable();
    keys.dedup();
    keys
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
    who: Listener,
    ws: actix_ws::Session,
    hub: Addr<Hub>,
    watch: Option<Watch>,
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        crate::metrics::live_session_opened();
        self.hub.do_send(Join {
            id: self.id,
            who: self.who.clone(),
            to: ctx.address().recipient(),
            end: ctx.address().recipient(),
            away: ctx.address().recipient(),
        });
        if let Some(watch) = self.watch.clone() {
            ctx.run_interval(watch.every, move |act, ctx| {
                let check = (watch.still_valid)();
                ctx.spawn(check.into_actor(act).map(|valid, act, ctx| {
                    if !valid {
                        tracing::info!(user = %act.who.login, session = act.id, "sign-in ended; closing the live connection");
                        act.close(ctx, actix_ws::CloseCode::Policy, "session ended");
                    }
                }));
            });
        }
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
        crate::metrics::live_session_closed();
        LISTENING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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

impl WsSession {
    /// Sends a close frame with `code`, then stops the session.
    fn close(&self, ctx: &mut Context<Self>, code: actix_ws::CloseCode, why: &'static str) {
        let ws = self.ws.clone();
        ctx.spawn(
            async move {
                let _ = ws
                    .close(Some(actix_ws::CloseReason {
                        code,
                        description: Some(why.into()),
                    }))
                    .await;
            }
            .into_actor(self)
            .map(|(), _, ctx| ctx.stop()),
        );
    }
}

impl Handler<End> for WsSession {
    type Result = ();
    fn handle(&mut self, _: End, ctx: &mut Context<Self>) {
        // "Policy violation": the page signs in again instead of reconnecting.
        self.close(ctx, actix_ws::CloseCode::Policy, "session ended");
    }
}

impl Handler<GoingAway> for WsSession {
    type Result = ();
    fn handle(&mut self, _: GoingAway, ctx: &mut Context<Self>) {
        // "Going away": the page reconnects, to another replica.
        self.close(ctx, actix_ws::CloseCode::Away, "server shutting down");
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

/// Live sessions open in this process (all hubs): counted before the upgrade is answered, so a
/// session the client sees open is always counted.
static LISTENING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether any live session is open in this process. A feed handler with nobody to push to skips
/// the event instead of reading the store for it: at thousands of requests a second, a replica
/// nobody watches would otherwise read a request per event for nothing.
pub fn listening() -> bool {
    LISTENING.load(std::sync::atomic::Ordering::Relaxed) > 0
}

/// The token of `GET /api/v1/live?token=...` (browsers cannot set headers on a WebSocket).
#[derive(serde::Deserialize)]
pub struct LiveQuery {
    pub token: String,
}

/// Upgrades to a WebSocket for `who` (already checked by the service) and joins it to `hub`;
/// `watch` closes it once its sign-in has ended.
pub fn open(
    req: &HttpRequest,
    body: web::Payload,
    who: Listener,
    hub: &Addr<Hub>,
    watch: Option<Watch>,
) -> Result<HttpResponse, ApiError> {
    let (response, ws, mut stream) =
        actix_ws::handle(req, body).map_err(|_| ApiError::BadRequest {
            field: None,
            message: "expected a WebSocket upgrade".into(),
        })?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let login = who.login.clone();
    LISTENING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let session = WsSession {
        id,
        who,
        ws: ws.clone(),
        hub: hub.clone(),
        watch,
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
    tracing::info!(user = %login, session = id, "live connection opened");
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(login: &str, role: Role, department: Option<&str>) -> Listener {
        Listener {
            login: login.into(),
            role,
            department: department.map(Into::into),
        }
    }

    #[test]
    fn a_feed_always_hears_of_staff_changes() {
        use komek_domain::events::kind;
        assert_eq!(
            feed_keys(&[kind::REQUEST_ESCALATED, kind::STAFF_CHANGED]),
            vec![kind::REQUEST_ESCALATED, kind::STAFF_CHANGED]
        );
        assert_eq!(feed_keys(&[]), vec![kind::STAFF_CHANGED]);
    }

    #[test]
    fn a_push_reaches_whom_it_concerns() {
        let billing = who("billing1", Role::DepartmentStaff, Some("billing"));
        let agent = who("aigerim", Role::Agent, None);
        let saule = who("saule", Role::Supervisor, None);
        let depts = vec!["network".to_owned()];
        assert!(!concerns(&[], &depts, false, &billing));
        assert!(concerns(&[], &["billing".into()], false, &billing));
        assert!(!concerns(&[], &depts, false, &agent));
        assert!(concerns(&["aigerim".into()], &depts, false, &agent));
        assert!(
            concerns(&[], &[], false, &saule),
            "supervisors see everything"
        );
        assert!(concerns(&[], &[], true, &agent));
    }
}
