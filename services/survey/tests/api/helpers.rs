//! Spawning the survey service in-process on port 0 against the real Redis and RabbitMQ, resolved
//! requests arriving as `request.resolved` events, and its own calls. The generic part (the
//! spawned app, problem+json checks, stored requests) is `komek_web::testing`.

use komek_domain::{Category, Channel, Lang, Request};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::testing::{Fixture, Stage, stored_request};
use serde_json::Value;

pub use komek_web::testing::{TestApp, WAIT, fields, problem};

/// Starts the survey service with the test settings under a fresh prefix; `stop` ends its relay
/// and consumer.
pub async fn spawn_app(tag: &str) -> TestApp {
    let settings = komek_testkit::test_settings(tag);
    komek_web::testing::spawn(settings, komek_survey::startup::build).await
}

/// The survey service's own calls on a [`TestApp`].
pub trait SurveyCalls {
    /// The survey page.
    async fn page(&self, token: &str) -> reqwest::Response;
    /// The customer's answer.
    async fn respond(&self, token: &str, body: &Value) -> reqwest::Response;
}

impl SurveyCalls for TestApp {
    async fn page(&self, token: &str) -> reqwest::Response {
        self.get(&format!("/s/{token}"), None).await
    }

    async fn respond(&self, token: &str, body: &Value) -> reqwest::Response {
        self.post(&format!("/api/v1/surveys/{token}/responses"), None, body)
            .await
    }
}

/// An agent resolves a request written in `language`: the request is stored with its
/// `request.resolved` event in the outbox, as the workspace does. The survey service's relay
/// publishes it and its consumer creates the survey; this waits for the survey's id beside the
/// request (`survey_of_request`) and returns the request and the link's token, derived from that
/// id as the status page and the notifier derive it.
pub async fn resolve(store: &Store, settings: &Settings, language: Lang) -> (Request, String) {
    let stored = stored_request(
        store,
        "4G",
        Channel::Sms,
        Fixture {
            msisdn: "+77771234567",
            language: Some(language),
            category: Category::Internet,
            stage: Stage::Resolved {
                agent: "daniyar".into(),
                resolution: "Reset the APN settings".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    let key = store.keys().survey_of_request(stored.id);
    let survey = komek_testkit::eventually(WAIT, "the consumer creates the survey", || {
        let (store, key) = (store.clone(), key.clone());
        async move { store.get_string(&key).await.unwrap() }
    })
    .await;
    let survey: uuid::Uuid = survey.parse().expect("survey:req keeps the survey id");
    (stored, settings.survey.token(survey))
}
