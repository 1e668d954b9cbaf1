//! Spawning the workspace in-process on port 0 against the real Redis and RabbitMQ, signing in,
//! and putting requests where its consumer finds them. The generic part (the spawned app, its
//! calls, problem+json checks, stored requests) is `komek_web::testing`.

use komek_domain::{Channel, Request};
use komek_store::Store;
use komek_web::testing::{Fixture, stored_request};
use serde_json::{Value, json};

pub use komek_web::testing::{TestApp, WAIT, fields, ok_json, problem};

/// Starts the workspace (demo staff seeded) with the test settings under a fresh prefix;
/// `stop` ends its relay and consumer.
pub async fn spawn_app(tag: &str) -> TestApp {
    let settings = komek_testkit::test_settings(tag);
    komek_web::testing::spawn(settings, komek_workspace::startup::build).await
}

/// Signing in on a workspace [`TestApp`].
pub trait SignIn {
    /// Signs in and returns the bearer token.
    async fn login(&self, login: &str, password: &str) -> String;
}

impl SignIn for TestApp {
    async fn login(&self, login: &str, password: &str) -> String {
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
}

/// Stores a new request with its `request.created` event in the outbox, as intake does; the
/// workspace's relay publishes it and its consumer queues the request.
pub async fn create_request(store: &Store, text: &str) -> Request {
    stored_request(store, text, Channel::CallCenter, Fixture::default()).await
}
