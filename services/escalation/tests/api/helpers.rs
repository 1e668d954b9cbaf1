//! Spawning the escalation service in-process on port 0 against the real Redis and RabbitMQ,
//! tokens for staff, escalations arriving as `request.escalated` events, and what it publishes.
//! The generic part (the spawned app, its calls, problem+json checks, stored requests) is
//! `komek_web::testing`.

use komek_auth::{Tokens, sessions};
use komek_domain::escalation::Escalation;
use komek_domain::events::Envelope;
use komek_domain::staff::{Department, Role, User};
use komek_domain::{Channel, Lang, Request};
use komek_settings::Settings;
use komek_store::Store;
use komek_web::testing::{Fixture, Stage, stored_request};
use serde_json::Value;
use uuid::Uuid;

pub use komek_web::testing::{TestApp, WAIT, fields, ok_json, problem};

/// Starts the escalation service with the test settings under a fresh prefix; `stop` ends its
/// relay and consumer.
pub async fn spawn_app(tag: &str) -> TestApp {
    let settings = komek_testkit::test_settings(tag);
    komek_web::testing::spawn(settings, komek_escalation::startup::build).await
}

/// A staff member as the seed or the admin API would store them (no password: tests sign tokens).
pub fn user(login: &str, role: Role, department: Option<&str>, level: u8) -> User {
    User {
        login: login.to_owned(),
        name: login.to_owned(),
        role,
        department: department.map(str::to_owned),
        languages: vec![Lang::Ru],
        categories: vec![],
        capacity: 10,
        level,
        password_hash: String::new(),
        active: true,
        sessions_after: 0,
    }
}

/// Tokens for staff on an escalation [`TestApp`].
pub trait StaffTokens {
    /// A token for `login` (level 1) as the sign-in would issue it (a session opened, same
    /// secret, same claims), without storing the user: every service answers it 401, since
    /// nobody stands behind it.
    fn token(
        &self,
        login: &str,
        role: Role,
        department: Option<&str>,
    ) -> impl std::future::Future<Output = String>;

    /// Stores `login` with `role`, `department` and `level` (1 first line, 2 second line, 3 head),
    /// replacing a user of that login (a move or a new level), and returns their token.
    fn staff(
        &self,
        login: &str,
        role: Role,
        department: Option<&str>,
        level: u8,
    ) -> impl std::future::Future<Output = String>;
}

impl StaffTokens for TestApp {
    async fn token(&self, login: &str, role: Role, department: Option<&str>) -> String {
        let u = user(login, role, department, 1);
        let tokens = Tokens::new(&self.settings.auth);
        sessions::open(&self.store, &tokens, &u)
            .await
            .unwrap()
            .token
    }

    async fn staff(&self, login: &str, role: Role, department: Option<&str>, level: u8) -> String {
        let u = user(login, role, department, level);
        self.store.put_user(&u, None).await.unwrap();
        let tokens = Tokens::new(&self.settings.auth);
        sessions::open(&self.store, &tokens, &u)
            .await
            .unwrap()
            .token
    }
}

/// Stores the departments `codes` (company hours, default deadlines), as the seed does.
pub async fn departments(store: &Store, codes: &[&str]) {
    for code in codes {
        store
            .add_department(&Department {
                code: (*code).to_owned(),
                name: (*code).to_owned(),
                hours: None,
                deadlines: Default::default(),
            })
            .await
            .unwrap();
    }
}

/// Changes a stored escalation behind the service's back (what the watcher or time would have
/// done: a tier reached, an older creation time), with no event.
pub async fn alter(store: &Store, id: Uuid, f: impl Fn(&mut Escalation)) -> Escalation {
    store
        .update_doc(&store.keys().escalation(id), |e: &mut Escalation| {
            f(e);
            Ok::<_, std::convert::Infallible>((None, vec![]))
        })
        .await
        .unwrap()
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

/// The holder of `token` does `action` (`accept`, `answer`, `reject`, ...) on escalation `id` with
/// `body`; checks the 200 and returns the escalation as it is now.
pub async fn act(app: &TestApp, token: &str, id: Uuid, action: &str, body: &Value) -> Value {
    let path = format!("/api/v1/escalations/{id}/{action}");
    ok_json(app.post(&path, Some(token), body).await, 200).await
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
    loop {
        match ch
            .basic_get(name.as_str().into(), BasicGetOptions { no_ack: true })
            .await
        {
            Ok(Some(m)) => out.push(Envelope::decode(&m.delivery.data).unwrap()),
            Ok(None) => break,
            // The service declares its topology once its relay has connected, which on a busy
            // machine can come after the test's first look: no queue yet means nothing in it yet
            // (the broker closes the channel; the caller polls again with a new one). Just after
            // the declaration a quorum queue's process may not have started yet ("noproc"): the
            // same thing, the queue is not there yet.
            Err(e)
                if ["NOT_FOUND", "noproc"]
                    .iter()
                    .any(|s| format!("{e:?}").contains(s)) =>
            {
                break;
            }
            Err(e) => panic!("draining {name}: {e}"),
        }
    }
    let _ = conn.close(200, "bye".into()).await;
    out
}

/// Drains `{prefix}.{queue}` until `n` events have arrived in all; returns them in arrival order.
pub async fn drain_until(settings: &Settings, queue: &str, n: usize) -> Vec<Envelope> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let what = format!("{n} events in the {queue} queue");
    komek_testkit::eventually(WAIT, &what, || {
        let (seen, settings, queue) = (seen.clone(), settings.clone(), queue.to_owned());
        async move {
            let more = drain_queue(&settings, &queue).await;
            let mut all = seen.lock().unwrap();
            all.extend(more);
            (all.len() >= n).then(|| all.clone())
        }
    })
    .await
}

/// Waits until the consumer has brought escalation `id` to `status`, and returns it.
pub async fn wait_status(
    store: &Store,
    id: Uuid,
    status: komek_domain::escalation::EscalationStatus,
    what: &str,
) -> komek_domain::escalation::Escalation {
    komek_testkit::eventually(WAIT, what, || {
        let store = store.clone();
        async move {
            store
                .escalation(id)
                .await
                .unwrap()
                .filter(|e| e.status == status)
        }
    })
    .await
}
