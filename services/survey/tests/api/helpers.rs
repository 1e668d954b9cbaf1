//! Spawning the survey service in-process on port 0 against the real Redis and RabbitMQ, resolved
//! requests arriving as `request.resolved` events, and reading its answers.

use std::time::Duration;

use komek_domain::events::{Envelope, RequestResolved, kind};
use komek_domain::{
    Category, Channel, Customer, Due, Lang, Msisdn, Priority, Request, RequestId, RequestNumber,
    Status,
};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use time::OffsetDateTime;

pub const WAIT: Duration = Duration::from_secs(20);

/// A running survey service and what a test needs to talk to it and look behind it.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The test's own connection to the same Redis keys (direct, never through a test proxy).
    pub store: Store,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the survey service with the test settings under a fresh prefix.
pub async fn spawn_app(tag: &str) -> TestApp {
    spawn_app_with(komek_testkit::test_settings(tag)).await
}

/// Starts the survey service with `settings` (port 0 from config/test.toml). The service runs on a runtime of
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
            let app = komek_survey::startup::build(for_app)
                .await
                .expect("survey starts");
            let _ = port_tx.send(app.port());
            tokio::select! {
                r = app.run_until_stopped() => r.expect("survey serves"),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime here ends the relay and consumer tasks with it.
    });
    let port = port_rx.await.expect("survey started (see the panic above)");
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

    /// The survey page.
    pub async fn page(&self, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/s/{token}")))
            .send()
            .await
            .unwrap()
    }

    /// The customer's answer.
    pub async fn respond(&self, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/surveys/{token}/responses")))
            .json(body)
            .send()
            .await
            .unwrap()
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

/// An agent resolves a request written in `language`: the request is stored with its
/// `request.resolved` event in the outbox, as the workspace does. The survey service's relay
/// publishes it and its consumer creates the survey; this waits for the survey link's token
/// (`survey_of_request`) and returns the request and the token.
pub async fn resolve(store: &Store, language: Lang) -> (Request, String) {
    let now = OffsetDateTime::now_utc();
    let seq = store.next_number().await.unwrap();
    let r = Request {
        id: RequestId::new(),
        number: RequestNumber::format("KM", seq),
        version: 0,
        channel: Channel::Sms,
        customer: Customer {
            msisdn: Some(Msisdn::parse("+77771234567").unwrap()),
            email: None,
            name: None,
        },
        language,
        category: Category::Internet,
        priority: Priority::Normal,
        subject: None,
        text: "4G".into(),
        status: Status::Resolved,
        owner: Some("daniyar".into()),
        due: Due {
            first_response: now + time::Duration::hours(4),
            resolution: now + time::Duration::hours(24),
        },
        created_at: now,
        first_response_at: Some(now),
        resolved_at: Some(now),
        resolution: Some("Reset the APN settings".into()),
        escalation: None,
        messages: Vec::new(),
        notes: Vec::new(),
        trace: None,
    };
    let event = Envelope::new(
        kind::REQUEST_RESOLVED,
        r.id,
        &RequestResolved {
            number: r.number.clone(),
            language,
            resolution: "Reset the APN settings".into(),
            agent: "daniyar".into(),
        },
        now,
    );
    let history = Request::record("daniyar", "resolved", None, now);
    let stored = match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
    };
    let key = store.keys().survey_of_request(r.id);
    let token = komek_testkit::eventually(WAIT, "the consumer creates the survey", || {
        let (store, key) = (store.clone(), key.clone());
        async move { store.get_string(&key).await.unwrap() }
    })
    .await;
    (stored, token)
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
