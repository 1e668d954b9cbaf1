//! Spawning the workspace in-process on port 0 against the real Redis and RabbitMQ, signing in,
//! putting requests where its consumer finds them, and reading its answers.

use std::time::Duration;

use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::{
    Category, Channel, Customer, Due, Msisdn, Priority, Request, RequestId, RequestNumber, Status,
    lang,
};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const WAIT: Duration = Duration::from_secs(20);

/// A running workspace and what a test needs to talk to it and look behind it.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The test's own connection to the same Redis keys (direct, never through a test proxy).
    pub store: Store,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the workspace (demo staff seeded) with the test settings under a fresh prefix.
pub async fn spawn_app(tag: &str) -> TestApp {
    spawn_app_with(komek_testkit::test_settings(tag)).await
}

/// Starts the workspace with `settings` (port 0 from config/test.toml). The service runs on a runtime of
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
            let app = komek_workspace::startup::build(for_app)
                .await
                .expect("workspace starts");
            let _ = port_tx.send(app.port());
            tokio::select! {
                r = app.run_until_stopped() => r.expect("workspace serves"),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime here ends the relay and consumer tasks with it.
    });
    let port = port_rx
        .await
        .expect("workspace started (see the panic above)");
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

    /// Signs in and returns the bearer token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let resp = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({ "login": login, "password": password }),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200, "{login} signs in");
        let body: Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
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

/// Stores a new request with its `request.created` event in the outbox, as intake does; the
/// workspace's relay publishes it and its consumer queues the request.
pub async fn create_request(store: &Store, text: &str) -> Request {
    let now = OffsetDateTime::now_utc();
    let seq = store.next_number().await.unwrap();
    let r = Request {
        id: RequestId::new(),
        number: RequestNumber::format("KM", seq),
        version: 0,
        channel: Channel::CallCenter,
        customer: Customer {
            msisdn: Some(Msisdn::parse("+77011234567").unwrap()),
            email: None,
            name: None,
        },
        language: lang::detect(text),
        category: Category::Billing,
        priority: Priority::Normal,
        subject: None,
        text: text.to_owned(),
        status: Status::New,
        owner: None,
        due: Due {
            first_response: now + time::Duration::hours(4),
            resolution: now + time::Duration::hours(24),
        },
        created_at: now,
        first_response_at: None,
        resolved_at: None,
        resolution: None,
        escalation: None,
        messages: Vec::new(),
        notes: Vec::new(),
        trace: None,
    };
    let event = Envelope::new(
        kind::REQUEST_CREATED,
        r.id,
        &RequestCreated {
            number: r.number.clone(),
            channel: r.channel,
            language: r.language,
            category: r.category,
            priority: r.priority,
        },
        now,
    );
    let history = Request::record("customer:call_center", "created", None, now);
    match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
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
