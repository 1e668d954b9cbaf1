//! Spawning the escalation service in-process on port 0 against the real Redis and RabbitMQ,
//! tokens for staff, escalations arriving as `request.escalated` events, and what it publishes.
//! The generic part (the spawned app, its calls, problem+json checks, stored requests) is
//! `komek_web::testing`.

use komek_auth::Tokens;
use komek_domain::events::Envelope;
use komek_domain::staff::{Role, User};
use komek_domain::{Channel, Lang, Request};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::testing::{Fixture, Stage, stored_request};
use uuid::Uuid;

pub use komek_web::testing::{TestApp, WAIT, fields, problem};

/// Starts the escalation service with the test settings under a fresh prefix; `stop` ends its
/// relay and consumer.
pub async fn spawn_app(tag: &str) -> TestApp {
    let settings = komek_testkit::test_settings(tag);
    komek_web::testing::spawn(settings, komek_escalation::startup::build).await
}

/// Tokens for staff on an escalation [`TestApp`].
pub trait StaffTokens {
    /// A token for `login` as the workspace's sign-in would issue it (same secret, same claims).
    fn token(&self, login: &str, role: Role, department: Option<&str>) -> String;
}

impl StaffTokens for TestApp {
    fn token(&self, login: &str, role: Role, department: Option<&str>) -> String {
        let user = User {
            login: login.to_owned(),
            name: login.to_owned(),
            role,
            department: department.map(str::to_owned),
            languages: vec![Lang::Ru],
            categories: vec![],
            capacity: 10,
            level: 1,
            password_hash: String::new(),
        };
        Tokens::new(&self.settings.auth).issue(&user).unwrap().0
    }
}

/// An agent escalates a request to `department`: the request is stored with its
/// `request.escalated` event in the outbox, as the workspace does. The escalation service's relay
/// publishes it and its consumer opens the escalation; this waits until it is open.
pub async fn escalate(store: &Store, department: &str) -> (Request, Uuid) {
    let escalation_id = Uuid::now_v7();
    let stored = stored_request(
        store,
        "Списали деньги дважды",
        Channel::Web,
        Fixture {
            msisdn: "+77051112233",
            language: Some(Lang::Ru),
            stage: Stage::Escalated {
                id: escalation_id,
                department: department.to_owned(),
                reason: "Двойное списание".into(),
                agent: "aigerim".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    komek_testkit::eventually(WAIT, "the consumer opens the escalation", || {
        let store = store.clone();
        async move { store.escalation(escalation_id).await.unwrap().map(|_| ()) }
    })
    .await;
    (stored, escalation_id)
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
