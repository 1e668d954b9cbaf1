//! Spawning intake in-process on port 0 against the real Redis and RabbitMQ, and its own calls.
//! The generic part (the spawned app, problem+json checks) is `komek_web::testing`.

use komek_settings::Settings;
use serde_json::{Value, json};

pub use komek_web::testing::{TestApp, WAIT, fields, problem};

/// Starts intake with the test settings under a fresh prefix.
pub async fn spawn_app(tag: &str) -> TestApp {
    spawn_app_with(komek_testkit::test_settings(tag)).await
}

/// Starts intake with `settings` (port 0 from config/test.toml); `stop` ends its outbox relay.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    komek_web::testing::spawn(settings, komek_intake::startup::build).await
}

/// intake's own calls on a [`TestApp`].
pub trait IntakeCalls {
    async fn post_request(&self, body: &Value) -> reqwest::Response;
    async fn post_request_with_key(&self, key: &str, body: &Value) -> reqwest::Response;
    async fn public_status(&self, number: &str, contact: &str) -> reqwest::Response;
    /// Submits [`submission`]`(text)` and returns the new request's number.
    async fn submitted(&self, text: &str) -> String;
}

impl IntakeCalls for TestApp {
    async fn post_request(&self, body: &Value) -> reqwest::Response {
        self.post("/api/v1/requests", None, body).await
    }

    async fn post_request_with_key(&self, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/requests"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn public_status(&self, number: &str, contact: &str) -> reqwest::Response {
        let url = reqwest::Url::parse_with_params(
            &self.url(&format!("/api/v1/requests/{number}/public")),
            &[("contact", contact)],
        )
        .unwrap();
        self.http.get(url).send().await.unwrap()
    }

    async fn submitted(&self, text: &str) -> String {
        let created: Value = self
            .post_request(&submission(text))
            .await
            .json()
            .await
            .unwrap();
        created["number"].as_str().unwrap().to_owned()
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
