//! Spawning the escalation service in-process on port 0 against the real Redis and RabbitMQ,
//! tokens for staff, escalations arriving as `request.escalated` events, and reading its answers.

use std::time::Duration;

use komek_auth::Tokens;
use komek_domain::events::{Envelope, RequestEscalated, kind};
use komek_domain::staff::{Role, User};
use komek_domain::{
    Category, Channel, Customer, Due, EscalationRef, Lang, Msisdn, Priority, Request, RequestId,
    RequestNumber, Status,
};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(20);

/// A running escalation service and what a test needs to talk to it and look behind it.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The test's own connection to the same Redis keys (direct, never through a test proxy).
    pub store: Store,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the escalation service with the test settings under a fresh prefix.
pub async fn spawn_app(tag: &str) -> TestApp {
    spawn_app_with(komek_testkit::test_settings(tag)).await
}

/// Starts the escalation service with `settings` (port 0 from config/test.toml). The service runs on a runtime of
/// its own, so `stop` can end its relay and consumer before the test cleans up its keys and queues.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
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
            let app = komek_escalation::startup::build(for_app)
                .await
                .expect("escalation starts");
            let _ = port_tx.send(app.port());
            tokio::select! {
                r = app.run_until_stopped() => r.expect("escalation serves"),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime here ends the relay and consumer tasks with it.
    });
    let port = port_rx
        .await
        .expect("escalation started (see the panic above)");
    // The machine's Redis as config/test.toml names it, even when the service goes through a proxy.
    let mut direct = settings.redis.clone();
    direct.url = komek_testkit::test_settings("direct").redis.url;
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

    /// A token for `login` as the workspace's sign-in would issue it (same secret, same claims).
    pub fn token(&self, login: &str, role: Role, department: Option<&str>) -> String {
        let user = User {
            login: login.to_owned(),
            name: login.to_owned(),
            role,
            department: department.map(str::to_owned),
            languages: vec![Lang::Ru],
            password_hash: String::new(),
        };
        Tokens::new(&self.settings.auth).issue(&user).unwrap().0
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
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

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// An agent escalates a request to `department`: the request is stored with its
/// `request.escalated` event in the outbox, as the workspace does. The escalation service's relay
/// publishes it and its consumer opens the escalation; this waits until it is open.
pub async fn escalate(store: &Store, department: &str) -> (Request, Uuid) {
    let now = OffsetDateTime::now_utc();
    let seq = store.next_number().await.unwrap();
    let escalation_id = Uuid::now_v7();
    let r = Request {
        id: RequestId::new(),
        number: RequestNumber::format("KM", seq),
        version: 0,
        channel: Channel::Web,
        customer: Customer {
            msisdn: Some(Msisdn::parse("+77051112233").unwrap()),
            email: None,
            name: None,
        },
        language: Lang::Ru,
        category: Category::Billing,
        priority: Priority::Normal,
        subject: None,
        text: "Списали деньги дважды".into(),
        status: Status::Escalated,
        owner: Some("aigerim".into()),
        due: Due {
            first_response: now + time::Duration::hours(4),
            resolution: now + time::Duration::hours(24),
        },
        created_at: now,
        first_response_at: None,
        resolved_at: None,
        resolution: None,
        escalation: Some(EscalationRef {
            id: escalation_id,
            department: department.to_owned(),
        }),
        messages: Vec::new(),
        notes: Vec::new(),
        trace: None,
    };
    let event = Envelope::new(
        kind::REQUEST_ESCALATED,
        r.id,
        &RequestEscalated {
            number: r.number.clone(),
            escalation_id,
            department: department.to_owned(),
            reason: "Двойное списание".into(),
            agent: "aigerim".into(),
        },
        now,
    );
    let history = Request::record("aigerim", "escalated", None, now);
    let stored = match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
    };
    komek_testkit::eventually(WAIT, "the consumer opens the escalation", || {
        let store = store.clone();
        async move { store.escalation(escalation_id).await.unwrap().map(|_| ()) }
    })
    .await;
    (stored, escalation_id)
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

/// Takes every message waiting in this test's `{prefix}.{queue}` queue (one nobody consumes in
/// this test) and decodes the envelopes.
pub async fn drain_queue(settings: &Settings, queue: &str) -> Vec<Envelope> {
    use lapin::options::BasicGetOptions;
    use secrecy::ExposeSecret;
    let conn = lapin::Connection::connect(settings.amqp.url.expose_secret(), Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let name = format!("{}.{queue}", settings.amqp.prefix);
    let mut out = Vec::new();
    while let Some(m) = ch
        .basic_get(name.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        out.push(Envelope::decode(&m.delivery.data).unwrap());
    }
    let _ = conn.close(200, "bye".into()).await;
    out
}
