//! Spawning intake in-process on port 0 against the real Redis and RabbitMQ, and reading its answers.

use std::time::Duration;

use komek_settings::Settings;
use komek_store::Store;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

pub const WAIT: Duration = Duration::from_secs(20);

/// A running intake and what a test needs to talk to it and look behind it.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The test's own connection to the same Redis keys (direct, never through a test proxy).
    pub store: Store,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts intake with the test settings under a fresh prefix.
pub async fn spawn_app(tag: &str) -> TestApp {
    spawn_app_with(komek_testkit::test_settings(tag)).await
}

/// Starts intake with `settings` (port 0 from config/test.toml). The service runs on a runtime of
/// its own, so `stop` can end its outbox relay before the test cleans up its keys and queues.
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
            let app = komek_intake::startup::build(for_app)
                .await
                .expect("intake starts");
            let _ = port_tx.send(app.port());
            tokio::select! {
                r = app.run_until_stopped() => r.expect("intake serves"),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime here ends the relay task with it.
    });
    let port = port_rx.await.expect("intake started (see the panic above)");
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

    pub async fn post_request(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/requests"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_request_with_key(&self, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/requests"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn public_status(&self, number: &str, contact: &str) -> reqwest::Response {
        let url = reqwest::Url::parse_with_params(
            &self.url(&format!("/api/v1/requests/{number}/public")),
            &[("contact", contact)],
        )
        .unwrap();
        self.http.get(url).send().await.unwrap()
    }

    /// Stops the service and waits until its runtime (and relay) is gone.
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

/// A web submission with a phone number.
pub fn submission(text: &str) -> Value {
    json!({
        "channel": "web",
        "customer": { "msisdn": "+77011234567", "name": "Асқар" },
        "text": text,
    })
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
