//! Test support for the services' API tests (feature `testing`, dev-dependencies only): a service
//! spawned in-process on port 0 with its app factory ([`spawn`], [`TestApp`]), the answer checks
//! ([`problem`] and [`fields`] for problem+json, [`ok_json`] for a success,
//! [`openapi_lists_every_code`] for the OpenAPI document), and a request put
//! straight into the store as intake or the workspace would have stored it ([`stored_request`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use komek_domain::events::{Envelope, RequestCreated, RequestEscalated, RequestResolved, kind};
use komek_domain::{
    Category, Channel, Customer, EscalationRef, Lang, Msisdn, Priority, Request, RequestNumber,
    Status, lang,
};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Application, StartError};

/// How long a test waits for asynchronous work (a consumer, a relay) before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running service and what a test needs to talk to it and look behind it.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The test's own connection to the same Redis keys (direct, never through a test proxy).
    pub store: Store,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a service with `settings` (port 0 from config/test.toml) through its app factory
/// `build` (a service's `startup::build`) and returns once it listens.
///
/// The service runs on a runtime of its own, in a thread of its own, so [`TestApp::stop`] can end
/// its outbox relay and consumer (they die with that runtime) before the test cleans up its keys
/// and queues; on the test's runtime they would outlive the server and race the cleanup.
pub async fn spawn<F, Fut>(settings: Settings, build: F) -> TestApp
where
    F: FnOnce(Settings) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Application, StartError>>,
{
    // The factory's path (`komek_intake::startup::build`) names the service in panics.
    let service = std::any::type_name::<F>();
    let (port_tx, port_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let for_app = settings.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = build(for_app)
                .await
                .unwrap_or_else(|e| panic!("{service} starts: {e}"));
            let _ = port_tx.send(app.port());
            tokio::select! {
                r = app.run_until_stopped() => r.unwrap_or_else(|e| panic!("{service} serves: {e}")),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime here ends the relay and consumer tasks with it.
    });
    let port = port_rx
        .await
        .unwrap_or_else(|_| panic!("{service} started (see the panic above)"));
    // The machine's Redis as config/test.toml names it, even when the service goes through a proxy.
    let mut direct = settings.redis.clone();
    direct.url = Settings::load_from(&komek_settings::repo_config_dir(), "test")
        .expect("test settings load")
        .redis
        .url;
    let store = Store::connect(&direct).await.unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        settings,
        store,
        http: reqwest::Client::new(),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET path`, with a bearer token if given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        send(self.http.get(self.url(path)), token).await
    }

    /// `POST path` with a JSON body, with a bearer token if given.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        send(self.http.post(self.url(path)).json(body), token).await
    }

    /// `PUT path` with a JSON body, with a bearer token if given.
    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        send(self.http.put(self.url(path)).json(body), token).await
    }

    /// `DELETE path`, with a bearer token if given.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        send(self.http.delete(self.url(path)), token).await
    }

    /// Stops the service and waits until its runtime (relay, consumer) is gone.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            tokio::task::spawn_blocking(move || t.join())
                .await
                .unwrap()
                .unwrap();
        }
    }
}

/// Sends `req`, with a bearer token if given.
async fn send(mut req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::Response {
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// Checks a successful answer's status and returns its JSON body.
pub async fn ok_json(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    resp.json().await.unwrap()
}

/// Tells the service to stop without waiting (a destructor cannot await the thread); a test that
/// cleans up afterwards calls [`TestApp::stop`] first.
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Checks an error answer: its status, `application/problem+json`, and the body's own status;
/// returns the body.
pub async fn problem(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        ct, "application/problem+json",
        "an error answers problem+json"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    body
}

/// Checks the service's `/openapi.json`: its `Problem` schema's `code` is the `ProblemCode` enum,
/// and that enum lists every code of the error table, so a client can see every code it may get.
/// A caller of [`walk_access`]: a label for messages, the role (none: anonymous) and its token.
pub struct Caller {
    pub label: String,
    pub role: Option<komek_domain::staff::Role>,
    pub token: Option<String>,
}

/// One caller of every kind the access table names, stored in the app's Redis: anonymous, an
/// agent, a supervisor, first-line staff and the head of `billing`. `issue` signs a token for a
/// stored user as the sign-in would (`komek_auth`, which this crate cannot name).
pub async fn callers(
    app: &TestApp,
    issue: impl Fn(&komek_domain::staff::User) -> String,
) -> Vec<Caller> {
    use komek_domain::staff::{Role, User};
    let mut out = vec![Caller {
        label: "anonymous".into(),
        role: None,
        token: None,
    }];
    for (login, role, department, level) in [
        ("walk-agent", Role::Agent, None, 2),
        ("walk-supervisor", Role::Supervisor, None, 3),
        ("walk-billing1", Role::DepartmentStaff, Some("billing"), 1),
        (
            "walk-billing-head",
            Role::DepartmentStaff,
            Some("billing"),
            3,
        ),
    ] {
        let u = User {
            login: login.into(),
            name: login.into(),
            role,
            department: department.map(Into::into),
            languages: vec![Lang::Kk, Lang::Ru],
            categories: vec![],
            capacity: 5,
            level,
            password_hash: String::new(),
            active: true,
            sessions_after: 0,
        };
        app.store.put_user(&u, None).await.unwrap();
        out.push(Caller {
            label: login.into(),
            role: Some(role),
            token: Some(issue(&u)),
        });
    }
    out
}

/// Walks every operation of the app's OpenAPI document with every caller and asserts the access
/// table's answer, read from the operation's `x-komek-access`: a signed-in class refuses the
/// anonymous caller (401) and every role it does not admit (403, the gate's refusal); everyone
/// else gets past the gate (the handler may still refuse an object, or find none: path
/// parameters name nothing). Returns how many calls were made.
pub async fn walk_access(app: &TestApp, callers: &[Caller]) -> usize {
    use crate::access::{Access, GATE_REFUSAL};
    let doc = ok_json(app.get("/openapi.json", None).await, 200).await;
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut calls = 0;
    for (path, item) in paths {
        let concrete: String = {
            let mut out = String::new();
            let mut inside = false;
            for c in path.chars() {
                match c {
                    '{' => {
                        inside = true;
                        out.push_str("zz-none");
                    }
                    '}' => inside = false,
                    _ if !inside => out.push(c),
                    _ => {}
                }
            }
            out
        };
        // A method the path does not have: 405, with the ones it has in `Allow`.
        let declared: Vec<String> = item
            .as_object()
            .expect("a path item")
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        if let Some(other) = ["PATCH", "DELETE", "PUT", "POST", "GET"]
            .into_iter()
            .find(|m| !declared.iter().any(|d| d == m))
        {
            let m = reqwest::Method::from_bytes(other.as_bytes()).unwrap();
            let r = app
                .http
                .request(m, app.url(&concrete))
                .send()
                .await
                .unwrap();
            calls += 1;
            assert_eq!(r.status().as_u16(), 405, "{other} {path}");
            let allow = r.headers()["allow"].to_str().unwrap().to_owned();
            for d in &declared {
                assert!(allow.contains(d.as_str()), "{other} {path}: Allow {allow}");
            }
        }
        for (method, op) in item.as_object().expect("a path item").iter() {
            let Ok(m) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let code = op["x-komek-access"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no x-komek-access"));
            let access = Access::ALL
                .into_iter()
                .find(|a| a.code() == code)
                .unwrap_or_else(|| panic!("{method} {path}: unknown class {code}"));
            for c in callers {
                let mut rb = app.http.request(m.clone(), app.url(&concrete));
                if m != reqwest::Method::GET {
                    rb = rb.json(&serde_json::json!({}));
                }
                if let Some(t) = &c.token {
                    rb = rb.bearer_auth(t);
                }
                let r = rb.send().await.expect("the service answers");
                calls += 1;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let by_gate = status == 403 && body["detail"] == GATE_REFUSAL;
                let what = format!("{method} {path} as {} ({code})", c.label);
                match (access.signed_in(), c.role) {
                    (true, None) => assert_eq!(status, 401, "{what}: {body}"),
                    (true, Some(role)) if !access.admits(role) => {
                        assert!(
                            by_gate,
                            "{what}: expected the gate's 403, got {status} {body}"
                        )
                    }
                    _ => assert!(
                        status != 401 && !by_gate && status < 500,
                        "{what}: expected to pass the gate, got {status} {body}"
                    ),
                }
            }
        }
    }
    calls
}

pub async fn openapi_lists_every_code(app: &TestApp) {
    let doc = ok_json(app.get("/openapi.json", None).await, 200).await;
    crate::error::assert_lists_every_code(&doc);
}

/// The fields named in a problem's `errors`.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a request stored by [`stored_request`] looks like besides its text and channel.
///
/// `Fixture::default()` is a new billing request of normal priority from `+77011234567`, its
/// language detected from the text; change the fields that matter to the test:
/// `Fixture { msisdn: "+77051112233", ..Fixture::default() }`.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub msisdn: &'static str,
    /// `None`: detected from the text, as intake does.
    pub language: Option<Lang>,
    pub category: Category,
    pub priority: Priority,
    /// Where in its life the request is, and so which event is stored with it.
    pub stage: Stage,
}

impl Default for Fixture {
    fn default() -> Self {
        Self {
            msisdn: "+77011234567",
            language: None,
            category: Category::Billing,
            priority: Priority::Normal,
            stage: Stage::Created,
        }
    }
}

/// Where a stored request is in its life: its status, owner and fields, its history line and the
/// event stored with it in the outbox.
#[derive(Debug, Clone)]
pub enum Stage {
    /// New, with `request.created` by `customer:<channel>`, as intake stores it.
    Created,
    /// Escalated by `agent` to `department` (escalation `id`), with `request.escalated`, as the
    /// workspace stores it.
    Escalated {
        id: Uuid,
        department: String,
        reason: String,
        agent: String,
    },
    /// Resolved by `agent` with `resolution` (first response and resolution now), with
    /// `request.resolved`, as the workspace stores it.
    Resolved { agent: String, resolution: String },
}

/// Stores a request with `text` from `channel`, numbered `KM-…` by the store's counter, with its
/// history line and its event in the outbox, as the service that made it would; the running
/// services' relays publish the event. Returns the stored request.
pub async fn stored_request(
    store: &Store,
    text: &str,
    channel: Channel,
    fixture: Fixture,
) -> Request {
    let now = OffsetDateTime::now_utc();
    let seq = store.next_number().await.unwrap();
    let language = fixture.language.unwrap_or_else(|| lang::detect(text));
    let customer = Customer {
        msisdn: Some(Msisdn::parse(fixture.msisdn).unwrap()),
        email: None,
        name: None,
    };
    let mut r = Request {
        channel,
        language,
        category: fixture.category,
        priority: fixture.priority,
        text: text.to_owned(),
        ..komek_testkit::new_request(RequestNumber::format("KM", seq), customer, now)
    };
    // Who did the last thing, what it was, and the event it published.
    let (actor, action, event_kind, payload) = match fixture.stage {
        Stage::Created => {
            let payload = RequestCreated {
                number: r.number.clone(),
                channel: r.channel,
                language,
                category: r.category,
                priority: r.priority,
                msisdn: None,
            };
            let actor = format!("customer:{}", channel.as_str());
            (actor, "created", kind::REQUEST_CREATED, json(payload))
        }
        Stage::Escalated {
            id,
            department,
            reason,
            agent,
        } => {
            r.status = Status::Escalated;
            r.owner = Some(agent.clone());
            r.escalation = Some(EscalationRef {
                id,
                department: department.clone(),
                question: None,
            });
            let payload = RequestEscalated {
                number: r.number.clone(),
                escalation_id: id,
                department,
                reason,
                agent: agent.clone(),
            };
            (agent, "escalated", kind::REQUEST_ESCALATED, json(payload))
        }
        Stage::Resolved { agent, resolution } => {
            r.status = Status::Resolved;
            r.owner = Some(agent.clone());
            r.first_response_at = Some(now);
            r.resolved_at = Some(now);
            r.resolution = Some(resolution.clone());
            let payload = RequestResolved {
                number: r.number.clone(),
                language,
                resolution,
                agent: agent.clone(),
                escalation_id: None,
            };
            (agent, "resolved", kind::REQUEST_RESOLVED, json(payload))
        }
    };
    let history = Request::record(&actor, action, None, now);
    let event = Envelope::new(event_kind, r.id, &payload, now);
    match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
    }
}

fn json(payload: impl serde::Serialize) -> Value {
    serde_json::to_value(payload).unwrap()
}
