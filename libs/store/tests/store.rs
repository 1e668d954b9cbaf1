//! The store against the machine's real Redis: the commit script's all-or-nothing semantics,
//! idempotent creation, the agent queue under concurrency, and the outbox consumer group.
//!
//! Every test works under its own key prefix (`komek_testkit::test_settings`) and removes its keys
//! at the end (`komek_testkit::cleanup`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::{
    Customer, HistoryEntry, Lang, Msisdn, Priority, Request, RequestId, RequestNumber, Status,
};
use komek_settings::Settings;
use komek_store::requests::{Created, Mutation};
use komek_store::{Commit, Op, Outcome, Store};
use time::OffsetDateTime;

const WAIT: Duration = Duration::from_secs(10);

async fn connect(settings: &Settings) -> Store {
    Store::connect(&settings.redis)
        .await
        .expect("the test Redis at 127.0.0.1:6379 answers")
}

/// A new request as intake would build it; `seq` gives its number and orders it in the queue.
fn new_request(seq: u64) -> Request {
    let now = OffsetDateTime::now_utc() + time::Duration::milliseconds(i64::try_from(seq).unwrap());
    let customer = Customer {
        msisdn: Some(Msisdn::parse("+77011234567").unwrap()),
        email: None,
        name: None,
    };
    komek_testkit::new_request(RequestNumber::format("KM", seq), customer, now)
}

fn created_parts(r: &Request) -> (HistoryEntry, Envelope) {
    let history = Request::record("customer:web", "created", None, r.created_at);
    let event = Envelope::new(
        kind::REQUEST_CREATED,
        r.id,
        &RequestCreated {
            number: r.number.clone(),
            channel: r.channel,
            language: r.language,
            category: r.category,
            priority: r.priority,
            msisdn: None,
        },
        r.created_at,
    );
    (history, event)
}

/// Stores a new request (version 1, one history line, one outbox entry).
async fn create(store: &Store, seq: u64) -> Request {
    let r = new_request(seq);
    let (history, event) = created_parts(&r);
    match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
    }
}

/// Moves a stored request New -> Queued, as the workspace consumer does on `request.created`
/// (the store puts it in the agents' queues).
async fn enqueue(store: &Store, id: RequestId) {
    store
        .update_request(id, None, |r| {
            let change = r.move_to(
                Status::Queued,
                "system:test",
                "queued",
                None,
                OffsetDateTime::now_utc(),
            )?;
            Ok::<_, komek_domain::TransitionError>(Mutation {
                change,
                event: None,
                ops: vec![],
            })
        })
        .await
        .unwrap();
}

/// An agent who takes any category in Russian, with room for every request of a test.
fn agent(login: &str) -> komek_domain::staff::User {
    komek_domain::staff::User {
        login: login.into(),
        name: login.into(),
        role: komek_domain::staff::Role::Agent,
        department: None,
        languages: vec![Lang::Ru],
        categories: vec![],
        capacity: 1000,
        level: 2,
        password_hash: String::new(),
        active: true,
        sessions_after: 0,
    }
}

async fn history_len(store: &Store, id: RequestId) -> usize {
    store.history(id).await.unwrap().len()
}

async fn exists(store: &Store, key: &str) -> bool {
    let mut c = store.conn();
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<u64>(&mut c)
        .await
        .unwrap()
        == 1
}

/// Keys under this test's prefix matching `pattern` (a glob after the prefix).
async fn scan(store: &Store, pattern: &str) -> Vec<String> {
    let mut c = store.conn();
    let pattern = format!("{}:{pattern}", store.keys().prefix());
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        out.extend(keys);
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

/// A commit that changes the request's text to `text` on top of `expected_version`, with a history
/// line and an outbox event.
fn text_change(store: &Store, r: &Request, expected_version: u64, text: &str) -> Commit {
    let mut changed = r.clone();
    changed.text = text.to_owned();
    changed.version = expected_version + 1;
    let history = Request::record("agent:test", "edited", None, OffsetDateTime::now_utc());
    let event = Envelope::new(
        kind::REQUEST_NOTE_ADDED,
        r.id,
        &serde_json::json!({"text": text}),
        OffsetDateTime::now_utc(),
    );
    Commit {
        doc_key: store.keys().request(r.id),
        expected_version,
        json: serde_json::to_string(&changed).unwrap(),
        history_key: Some(store.keys().history(r.id)),
        history: Some(serde_json::to_string(&history).unwrap()),
        event: Some((event.kind.clone(), serde_json::to_string(&event).unwrap())),
        marker: None,
        ops: Vec::new(),
    }
}

/// A request is created (version 1). A writer that read version 0 commits a change with a history
/// line and an event: the script answers Conflict with the current version, and writes nothing:
/// the document, its history and the outbox are exactly as before. The same change on version 1
/// then goes through.
#[tokio::test]
async fn stale_version_is_a_conflict_and_writes_nothing() {
    let settings = komek_testkit::test_settings("store-conflict");
    let store = connect(&settings).await;
    let r = create(&store, 1).await;
    assert_eq!(r.version, 1);
    assert_eq!(history_len(&store, r.id).await, 1);
    assert_eq!(store.outbox_len().await.unwrap(), 1);

    let outcome = store
        .commit(&text_change(&store, &r, 0, "stale edit"))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Conflict { current: 1 });
    let stored = store.request(r.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.text, r.text, "the stale write must not land");
    assert_eq!(
        history_len(&store, r.id).await,
        1,
        "no history line for a refused change"
    );
    assert_eq!(
        store.outbox_len().await.unwrap(),
        1,
        "no event for a refused change"
    );

    let outcome = store
        .commit(&text_change(&store, &r, 1, "fresh edit"))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Done { version: 2 });
    let stored = store.request(r.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.text.as_str()), (2, "fresh edit"));
    assert_eq!(history_len(&store, r.id).await, 2);
    assert_eq!(store.outbox_len().await.unwrap(), 2);

    komek_testkit::cleanup(&settings).await;
}

/// A consumer applies an event with its handled-event marker. The redelivered event (same marker),
/// even on the now current version, is answered Duplicate and changes nothing.
#[tokio::test]
async fn marker_makes_the_second_commit_a_duplicate() {
    let settings = komek_testkit::test_settings("store-marker");
    let store = connect(&settings).await;
    let r = create(&store, 1).await;
    let marker = store.keys().handled("workspace", uuid::Uuid::now_v7());

    let mut first = text_change(&store, &r, 1, "applied once");
    first.marker = Some((marker.clone(), 60));
    assert_eq!(
        store.commit(&first).await.unwrap(),
        Outcome::Done { version: 2 }
    );
    assert!(
        exists(&store, &marker).await,
        "the marker is written with the change"
    );

    let mut again = text_change(&store, &r, 2, "applied twice");
    again.marker = Some((marker.clone(), 60));
    assert_eq!(store.commit(&again).await.unwrap(), Outcome::Duplicate);
    let stored = store.request(r.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.text.as_str()), (2, "applied once"));
    assert_eq!(history_len(&store, r.id).await, 2);
    assert_eq!(store.outbox_len().await.unwrap(), 2);

    komek_testkit::cleanup(&settings).await;
}

/// A change carrying a `zadd` and a `zrem!` of a member that is not in its set is refused with
/// Precondition naming the `zrem!` (index 1): not the document, not the history, not the outbox,
/// not the marker, and not the `zadd` that came before it in the list.
#[tokio::test]
async fn failed_zrem_precondition_writes_nothing() {
    let settings = komek_testkit::test_settings("store-zrem");
    let store = connect(&settings).await;
    let r = create(&store, 1).await;
    let marker = store.keys().handled("test", uuid::Uuid::now_v7());
    let index = format!("{}:test-index", store.keys().prefix());

    let mut c = text_change(&store, &r, 1, "claimed");
    c.marker = Some((marker.clone(), 60));
    c.ops = vec![
        Op::ZAdd {
            key: index.clone(),
            member: "a".into(),
            score: 1,
        },
        Op::ZRemMust {
            key: store.keys().queue(),
            member: r.id.to_string(),
        },
    ];
    assert_eq!(store.commit(&c).await.unwrap(), Outcome::Precondition(1));

    let stored = store.request(r.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.text.as_str()), (1, r.text.as_str()));
    assert_eq!(history_len(&store, r.id).await, 1);
    assert_eq!(store.outbox_len().await.unwrap(), 1);
    assert!(
        !exists(&store, &marker).await,
        "no marker for a refused change"
    );
    assert!(
        !exists(&store, &index).await,
        "the zadd before the failed zrem! is not applied"
    );

    komek_testkit::cleanup(&settings).await;
}

/// `del` removes a key of any type and `xadd` appends a second event, both only when the whole
/// change is applied (a reroute that also flags an escalation; a link or guard that ends).
#[tokio::test]
async fn del_and_a_second_event_ride_in_the_same_commit() {
    let settings = komek_testkit::test_settings("store-del-xadd");
    let store = connect(&settings).await;
    let r = create(&store, 1).await;
    let guard = format!("{}:test-guard", store.keys().prefix());
    let set = format!("{}:test-set", store.keys().prefix());
    let mut c = store.conn();
    let _: () = redis::AsyncCommands::set(&mut c, &guard, "x")
        .await
        .unwrap();
    let _: i64 = redis::AsyncCommands::sadd(&mut c, &set, "m").await.unwrap();
    let second = Envelope::new(
        kind::REQUEST_QUEUED,
        r.id,
        &serde_json::json!({}),
        OffsetDateTime::now_utc(),
    );
    let ops = vec![
        Op::Del { key: guard.clone() },
        Op::Del { key: set.clone() },
        Op::Event {
            kind: second.kind.clone(),
            json: serde_json::to_string(&second).unwrap(),
        },
    ];

    // Refused (stale version): nothing deleted, no event.
    let mut refused = text_change(&store, &r, 5, "stale");
    refused.ops = ops.clone();
    assert!(matches!(
        store.commit(&refused).await.unwrap(),
        Outcome::Conflict { .. }
    ));
    assert!(exists(&store, &guard).await && exists(&store, &set).await);
    assert_eq!(store.outbox_len().await.unwrap(), 1);

    let mut applied = text_change(&store, &r, 1, "applied");
    applied.ops = ops;
    assert!(matches!(
        store.commit(&applied).await.unwrap(),
        Outcome::Done { .. }
    ));
    assert!(!exists(&store, &guard).await && !exists(&store, &set).await);
    // The creation's event, the change's own event, then the extra one, in that order.
    let entries: redis::streams::StreamRangeReply =
        redis::AsyncCommands::xrange_all(&mut c, store.keys().outbox())
            .await
            .unwrap();
    let types: Vec<String> = entries
        .ids
        .iter()
        .map(|e| e.get::<String>("type").unwrap())
        .collect();
    assert_eq!(
        types,
        [
            kind::REQUEST_CREATED,
            kind::REQUEST_NOTE_ADDED,
            kind::REQUEST_QUEUED
        ]
    );

    komek_testkit::cleanup(&settings).await;
}

/// The same submission is stored twice with one Idempotency-Key (a client retry): the second gets
/// `Replayed` with the first request's id, and only one request exists. The key used with another
/// body fingerprint gets `KeyReused`, and still only one request exists.
#[tokio::test]
async fn idempotency_key_first_writer_wins() {
    let settings = komek_testkit::test_settings("store-idem");
    let store = connect(&settings).await;
    let key = "client-retry-1";

    let first = new_request(1);
    let (h, e) = created_parts(&first);
    let Created::New(stored) = store
        .create_request(&first, &h, &e, Some((key, "fp-a")), 3600)
        .await
        .unwrap()
    else {
        panic!("the first use of the key creates the request");
    };

    let retry = new_request(2);
    let (h, e) = created_parts(&retry);
    match store
        .create_request(&retry, &h, &e, Some((key, "fp-a")), 3600)
        .await
        .unwrap()
    {
        Created::Replayed(r) => {
            assert_eq!(r.id, stored.id);
            assert_eq!(r.number, stored.number);
        }
        other => panic!("expected Replayed, got {other:?}"),
    }

    let other_body = new_request(3);
    let (h, e) = created_parts(&other_body);
    let reused = store
        .create_request(&other_body, &h, &e, Some((key, "fp-b")), 3600)
        .await
        .unwrap();
    assert!(matches!(reused, Created::KeyReused), "{reused:?}");

    let requests: Vec<String> = scan(&store, "req:*")
        .await
        .into_iter()
        .filter(|k| !k.ends_with(":history"))
        .collect();
    assert_eq!(
        requests,
        vec![store.keys().request(stored.id)],
        "exactly one request is stored"
    );
    assert_eq!(
        store.outbox_len().await.unwrap(),
        1,
        "one request.created event"
    );
    assert!(
        store
            .request_by_number(&retry.number.0)
            .await
            .unwrap()
            .is_none()
    );
    let rec = store.idempotency(key).await.unwrap().unwrap();
    assert_eq!(
        (rec.fingerprint.as_str(), rec.request_id),
        ("fp-a", stored.id)
    );

    komek_testkit::cleanup(&settings).await;
}

/// 200 requests wait in the queue; 20 agents take work concurrently, each calling `take_next_for`
/// until it answers None. Every request is assigned exactly once (no request twice, none lost),
/// to the agent that got it back, and the queue ends empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn take_next_assigns_each_request_exactly_once_under_concurrency() {
    let settings = komek_testkit::test_settings("store-take");
    let store = connect(&settings).await;
    let mut all = HashSet::new();
    for seq in 1..=200 {
        let r = create(&store, seq).await;
        enqueue(&store, r.id).await;
        all.insert(r.id);
    }
    assert_eq!(store.queue_len().await.unwrap(), 200);

    let taken = Arc::new(std::sync::Mutex::new(Vec::<(String, RequestId)>::new()));
    let mut agents = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let taken = taken.clone();
        agents.push(tokio::spawn(async move {
            let agent = format!("agent{i:02}");
            let user = self::agent(&agent);
            while let Some(r) = store.take_next_for(&user, |_, _| {}).await.unwrap() {
                assert_eq!(r.owner.as_deref(), Some(agent.as_str()));
                assert_eq!(r.status, Status::Assigned);
                taken.lock().unwrap().push((agent.clone(), r.id));
            }
        }));
    }
    for a in agents {
        a.await.unwrap();
    }

    let taken = taken.lock().unwrap().clone();
    let mut by_id: HashMap<RequestId, Vec<String>> = HashMap::new();
    for (agent, id) in &taken {
        by_id.entry(*id).or_default().push(agent.clone());
    }
    let twice: Vec<_> = by_id.iter().filter(|(_, a)| a.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "requests assigned more than once: {twice:?}"
    );
    let got: HashSet<RequestId> = by_id.keys().copied().collect();
    let lost: Vec<_> = all.difference(&got).collect();
    assert!(lost.is_empty(), "requests never assigned: {lost:?}");
    assert_eq!(taken.len(), 200);
    assert_eq!(store.queue_len().await.unwrap(), 0, "the queue is empty");

    // The stored state agrees: each request is owned by the agent that got it, and is in that
    // agent's set only.
    for (agent, id) in &taken {
        let r = store.request(*id).await.unwrap().unwrap();
        assert_eq!(r.owner.as_deref(), Some(agent.as_str()));
        assert_eq!(r.status, Status::Assigned);
    }
    let mut owned_total = 0;
    for i in 0..20 {
        owned_total += store.owned(&format!("agent{i:02}")).await.unwrap().len();
    }
    assert_eq!(owned_total, 200);

    komek_testkit::cleanup(&settings).await;
}

/// Three events in the outbox. A relay reads them through the consumer group (a second read finds
/// nothing new); it acks one and dies with two unconfirmed. Another relay claims the two once they
/// have been idle a moment, acks them, and the outbox is empty; nothing is left to claim.
#[tokio::test]
async fn outbox_read_claim_ack_round_trip() {
    let settings = komek_testkit::test_settings("store-outbox");
    let store = connect(&settings).await;
    let mut created = HashSet::new();
    for seq in 1..=3 {
        created.insert(create(&store, seq).await.id);
    }
    store.ensure_relay_group().await.unwrap();
    store.ensure_relay_group().await.unwrap(); // idempotent: BUSYGROUP is fine
    assert_eq!(store.outbox_len().await.unwrap(), 3);

    let mut reader = store.dedicated(Duration::from_millis(100)).await.unwrap();
    let read = store
        .read_outbox(&mut reader, "relay-a", 10, 100)
        .await
        .unwrap();
    assert_eq!(read.len(), 3);
    let mut request_ids = HashSet::new();
    for e in &read {
        assert_eq!(e.kind, kind::REQUEST_CREATED);
        let env = Envelope::decode(&e.event).unwrap();
        assert_eq!(env.kind, kind::REQUEST_CREATED);
        request_ids.insert(env.request_id);
    }
    assert_eq!(request_ids, created);
    assert!(
        store
            .read_outbox(&mut reader, "relay-a", 10, 50)
            .await
            .unwrap()
            .is_empty(),
        "nothing new"
    );

    store
        .ack_outbox(std::slice::from_ref(&read[0].id))
        .await
        .unwrap();
    assert_eq!(store.outbox_len().await.unwrap(), 2);

    let claimed =
        komek_testkit::eventually(WAIT, "relay-b claims the two unconfirmed entries", || {
            let store = store.clone();
            async move {
                let c = store.claim_stale_outbox("relay-b", 50, 10).await.unwrap();
                (!c.is_empty()).then_some(c)
            }
        })
        .await;
    let mut claimed_ids: Vec<String> = claimed.iter().map(|e| e.id.clone()).collect();
    let mut expected: Vec<String> = read[1..].iter().map(|e| e.id.clone()).collect();
    claimed_ids.sort();
    expected.sort();
    assert_eq!(claimed_ids, expected);
    assert!(
        claimed
            .iter()
            .all(|e| e.kind == kind::REQUEST_CREATED && Envelope::decode(&e.event).is_ok())
    );

    store.ack_outbox(&claimed_ids).await.unwrap();
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    assert!(
        store
            .claim_stale_outbox("relay-c", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_outbox(&mut reader, "relay-a", 10, 50)
            .await
            .unwrap()
            .is_empty()
    );

    komek_testkit::cleanup(&settings).await;
}

/// 200 requests wait and 20 agents take work concurrently, as above; this time each agent checks,
/// when `take_next_for` answers None ("nothing waits", a 204 for the agent), that the queue really is
/// empty. Requests only leave the queue in this test, so any request still queued after a None
/// was already waiting while None was answered. (Before bd8fb33 most agents were told nothing
/// waits while 90-180 requests were still queued.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn take_next_answers_none_only_when_the_queue_is_empty() {
    let settings = komek_testkit::test_settings("store-none");
    let store = connect(&settings).await;
    for seq in 1..=200 {
        let r = create(&store, seq).await;
        enqueue(&store, r.id).await;
    }
    let mut agents = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        agents.push(tokio::spawn(async move {
            let agent = format!("agent{i:02}");
            let user = self::agent(&agent);
            while store
                .take_next_for(&user, |_, _| {})
                .await
                .unwrap()
                .is_some()
            {}
            (agent, store.queue_len().await.unwrap())
        }));
    }
    let mut early = Vec::new();
    for a in agents {
        let (agent, left) = a.await.unwrap();
        if left > 0 {
            early.push(format!(
                "{agent} was told nothing waits with {left} requests queued"
            ));
        }
    }
    komek_testkit::cleanup(&settings).await;
    assert!(early.is_empty(), "{early:#?}");
}

/// Skill routing and agent levels: six urgent requests stand at the head of the Russian internet
/// queue, one normal request behind them. A level-1 agent (no urgent work) still gets the normal
/// one instead of nothing; a level-2 agent gets the most urgent one.
#[tokio::test]
async fn a_junior_gets_work_from_behind_the_urgent_band() {
    let settings = komek_testkit::test_settings("store-levels");
    let store = connect(&settings).await;
    let mut ids = Vec::new();
    for seq in 1..=7 {
        let mut r = new_request(seq);
        if seq <= 6 {
            r.priority = Priority::Urgent;
        }
        let (history, event) = created_parts(&r);
        let Created::New(stored) = store
            .create_request(&r, &history, &event, None, 3600)
            .await
            .unwrap()
        else {
            panic!("new request")
        };
        store
            .update_request(stored.id, None, |r| {
                let change = r.move_to(
                    Status::Queued,
                    "system:test",
                    "queued",
                    None,
                    OffsetDateTime::now_utc(),
                )?;
                Ok::<_, komek_domain::TransitionError>(Mutation {
                    change,
                    event: None,
                    ops: vec![],
                })
            })
            .await
            .unwrap();
        ids.push(stored.id);
    }
    let agent = |login: &str, level: u8| komek_domain::staff::User {
        login: login.into(),
        name: login.into(),
        role: komek_domain::staff::Role::Agent,
        department: None,
        languages: vec![Lang::Ru],
        categories: vec![],
        capacity: 10,
        level,
        password_hash: String::new(),
        active: true,
        sessions_after: 0,
    };
    let junior = store
        .take_next_for(&agent("junior", 1), |_, _| {})
        .await
        .unwrap()
        .expect("the normal request");
    assert_eq!(junior.id, ids[6]);
    assert_eq!(junior.priority, Priority::Normal);
    let senior = store
        .take_next_for(&agent("senior", 2), |_, _| {})
        .await
        .unwrap()
        .expect("an urgent request");
    assert_eq!(senior.priority, Priority::Urgent);
    assert_eq!(senior.id, ids[0], "the nearest deadline first");
    komek_testkit::cleanup(&settings).await;
}

/// `requests` reads many in one round trip per 500, in the order asked, with their versions;
/// an id with no request is left out.
#[tokio::test]
async fn many_requests_are_read_in_the_order_asked() {
    let settings = komek_testkit::test_settings("store-many");
    let store = connect(&settings).await;
    let mut ids = Vec::new();
    for seq in 1..=503 {
        ids.push(create(&store, seq).await.id);
    }
    let r = store.request(ids[2]).await.unwrap().unwrap();
    let outcome = store
        .commit(&text_change(&store, &r, 1, "edited"))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    let mut asked: Vec<RequestId> = ids.iter().rev().copied().collect();
    asked.insert(1, RequestId::new());
    let got = store.requests(&asked).await.unwrap();
    assert_eq!(got.len(), ids.len(), "the unknown id is left out");
    let order: Vec<RequestId> = got.iter().map(|r| r.id).collect();
    let expected: Vec<RequestId> = ids.iter().rev().copied().collect();
    assert_eq!(order, expected);
    let edited = got.iter().find(|r| r.id == ids[2]).unwrap();
    assert_eq!((edited.version, edited.text.as_str()), (2, "edited"));
    assert!(
        got.iter()
            .filter(|r| r.id != ids[2])
            .all(|r| r.version == 1)
    );
    komek_testkit::cleanup(&settings).await;
}

/// `Holds` lets a change stand only while a key still says what it was decided on: the workspace
/// applies a problem link read from `problem:of` only if no unlink was committed meanwhile.
#[tokio::test]
async fn a_change_decided_on_a_key_stands_only_while_the_key_holds() {
    let settings = komek_testkit::test_settings("store-holds");
    let store = connect(&settings).await;
    let r = create(&store, 1).await;
    let link = format!("{}:test-link", store.keys().prefix());
    let holds = |value: Option<&str>| Op::Holds {
        key: link.clone(),
        value: value.map(str::to_owned),
    };

    // Absent, as decided: applied.
    let mut absent = text_change(&store, &r, 1, "absent");
    absent.ops = vec![holds(None)];
    assert!(matches!(
        store.commit(&absent).await.unwrap(),
        Outcome::Done { .. }
    ));

    let mut c = store.conn();
    let _: () = redis::AsyncCommands::set(&mut c, &link, "p-1")
        .await
        .unwrap();
    // Decided on "absent" or on another value: refused, nothing written.
    for stale in [None, Some("p-2")] {
        let mut refused = text_change(&store, &r, 2, "stale");
        refused.ops = vec![holds(stale)];
        assert!(matches!(
            store.commit(&refused).await.unwrap(),
            Outcome::Precondition(0)
        ));
    }
    assert_eq!(store.request(r.id).await.unwrap().unwrap().version, 2);

    let mut held = text_change(&store, &r, 2, "held");
    held.ops = vec![holds(Some("p-1"))];
    assert!(matches!(
        store.commit(&held).await.unwrap(),
        Outcome::Done { .. }
    ));
    let stored = store.request(r.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.text.as_str()), (3, "held"));

    komek_testkit::cleanup(&settings).await;
}

/// A refresh secret works once: the current one rotates (the session's TTL moved), a replaced
/// one presented within the grace is refused with the session kept (a second tab), after it the
/// session is ended (a replayed, stolen token); a session past its absolute end is gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_secret_works_once_and_a_replay_ends_the_session() {
    use komek_store::sessions::{Rotation, SessionRecord};
    let settings = komek_testkit::test_settings("store-sessions");
    let store = connect(&settings).await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let session = SessionRecord {
        login: "aigerim".into(),
        created: now,
        expires: now + 3600,
    };
    store.open_session("s1", &session, "r1", 60).await.unwrap();
    let rotate = |presented: &'static str, new: &'static str, at: i64| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh("s1", presented, new, at, 600, 30)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        rotate("r1", "r2", now).await,
        Rotation::Rotated(session.clone())
    );
    let mut c = store.conn();
    let ttl: i64 = redis::cmd("TTL")
        .arg(store.keys().session("s1"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 60, "the idle time starts again: {ttl}");
    assert_eq!(rotate("r1", "r3", now + 10).await, Rotation::Raced);
    assert_eq!(rotate("nope", "r3", now + 10).await, Rotation::Wrong);
    assert_eq!(
        rotate("r2", "r3", now + 20).await,
        Rotation::Rotated(session.clone())
    );
    assert_eq!(rotate("r2", "r4", now + 100).await, Rotation::Reused);
    assert_eq!(rotate("r3", "r4", now + 100).await, Rotation::Gone, "ended");

    store.open_session("s1", &session, "r1", 60).await.unwrap();
    assert_eq!(
        rotate("r1", "r2", now + 3600).await,
        Rotation::Gone,
        "past its end"
    );
    assert!(!store.end_session("s1").await.unwrap());
    komek_testkit::cleanup(&settings).await;
}
