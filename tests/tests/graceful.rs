//! Graceful shutdown: SIGTERM to one of two intake replicas in the middle of a load loses nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use komek_e2e::{Mesh, MeshOptions, WAIT};
use komek_store::Store;
use komek_testkit::eventually;
use lapin::options::BasicGetOptions;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Requests accepted before the signal, and after the stopped replica is gone.
const BEFORE: usize = 50;
const AFTER: usize = 50;
const CLIENTS: usize = 6;
/// The replica the test stops.
const STOPPED: usize = 1;
/// config/test.toml's `shutdown.grace_secs`, and the drain this test sets.
const GRACE: Duration = Duration::from_secs(10);
const DRAIN: Duration = Duration::from_secs(1);

/// Posts request `i` with its own Idempotency-Key, first to replica `i % 2`, and retries on the
/// other replica when a replica refuses the connection, drops it or answers 503 (draining or
/// stopping); the key makes a retry of a request that did get through return the same request.
/// Returns the request's id; counts every retry in `retries`.
async fn post_with_retry(
    http: &reqwest::Client,
    urls: &[String; 2],
    i: usize,
    retries: &AtomicUsize,
) -> String {
    let body = json!({
        "channel": "call_center",
        "customer": {"msisdn": format!("+7707{i:07}")},
        "text": format!("Internet is slow in the evening, case {i}"),
    });
    let key = format!("graceful-{i}");
    let deadline = Instant::now() + WAIT;
    let mut replica = i % 2;
    loop {
        assert!(Instant::now() < deadline, "request {i} never accepted");
        let sent = http
            .post(&urls[replica])
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == StatusCode::CREATED || r.status() == StatusCode::OK => {
                let v: Value = r.json().await.unwrap();
                return v["id"].as_str().unwrap().to_owned();
            }
            Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {}
            Ok(r) => panic!("request {i}: unexpected {}", r.status()),
            // Refused, reset or closed while stopping: the other replica takes it.
            Err(_) => {}
        }
        retries.fetch_add(1, Ordering::Relaxed);
        replica = 1 - replica;
    }
}

/// Two intake replicas take a steady load of requests (six clients, each request with an
/// Idempotency-Key, retried on the other replica on a refused connection or a 503). Once the
/// load is under way, replica 1 gets SIGTERM: its `/readyz` turns 503 while it still serves, then
/// it stops accepting, finishes what it holds, flushes its outbox relay and exits 0 within the
/// grace period. Every accepted request is in Redis, and its `request.created` event reached
/// the workspace's queue (no workspace runs, so the queue keeps them): nothing was lost. The load
/// goes on past the replica's exit, so the clients did meet its refusals and retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_one_intake_replica_under_load_loses_nothing() {
    let mut mesh = Mesh::start(MeshOptions {
        tag: "graceful",
        replicas: 2,
        services: vec!["intake"],
        env: vec![(
            "KOMEK__SHUTDOWN__DRAIN_DELAY_SECS".into(),
            DRAIN.as_secs().to_string(),
        )],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let urls = [
        mesh.url_on(0, "intake", "/api/v1/requests"),
        mesh.url_on(1, "intake", "/api/v1/requests"),
    ];
    let ready = mesh.url_on(STOPPED, "intake", "/readyz");
    let mut stopped = mesh.take("intake", STOPPED);

    // The load: clients take the next request number until told to stop.
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(AtomicUsize::new(usize::MAX));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (http, urls) = (http.clone(), urls.clone());
        let (next, done, retries, enough) =
            (next.clone(), done.clone(), retries.clone(), enough.clone());
        clients.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= enough.load(Ordering::Relaxed) {
                    return accepted;
                }
                accepted.push((i, post_with_retry(&http, &urls, i, &retries).await));
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let accepted_at_least = |n: usize| {
        let done = done.clone();
        move || {
            let done = done.clone();
            async move { (done.load(Ordering::Relaxed) >= n).then_some(()) }
        }
    };

    // Under load, SIGTERM to replica 1.
    eventually(WAIT, "the load is under way", accepted_at_least(BEFORE)).await;
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &stopped.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // Readiness turns 503 at once while the process still answers.
    eventually(DRAIN, "the stopped replica's /readyz answers 503", || {
        let (http, ready) = (http.clone(), ready.clone());
        async move {
            let r = http.get(&ready).send().await.ok()?;
            (r.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(())
        }
    })
    .await;

    // It exits 0 within the drain and the grace period.
    let status = eventually(DRAIN + GRACE, "the stopped replica exits", || {
        let status = stopped.try_wait().unwrap();
        async move { status }
    })
    .await;
    let took = signalled.elapsed();
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        mesh.log("intake-1")
    );
    assert!(took < DRAIN + GRACE, "stopped in {took:?}");
    let log = mesh.log("intake-1");
    for step in [
        "shutting down: readiness off",
        "drain over",
        "consumer stopped",
        "outbox relay flushed and stopped",
    ] {
        assert!(log.contains(step), "the stopped replica logged {step:?}");
    }

    // The load goes on against the other replica for a while, then ends.
    let at_exit = done.load(Ordering::Relaxed);
    eventually(
        WAIT,
        "requests accepted after the exit",
        accepted_at_least(at_exit + AFTER),
    )
    .await;
    enough.store(next.load(Ordering::Relaxed), Ordering::Relaxed);
    let mut accepted = BTreeMap::new();
    for c in clients {
        for (i, id) in c.await.unwrap() {
            accepted.insert(i, id);
        }
    }
    let total = accepted.len();
    assert_eq!(
        accepted.keys().copied().collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>(),
        "every request the clients started was accepted"
    );
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "the clients met the stopped replica's refusals"
    );
    let ids: HashSet<String> = accepted.values().cloned().collect();
    assert_eq!(ids.len(), total, "one request per idempotency key");

    // Every accepted request is stored ...
    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    for id in &ids {
        let found = store.request(id.parse().unwrap()).await.unwrap();
        assert!(found.is_some(), "request {id} is in Redis");
    }
    // ... and once the outbox is empty (the remaining relay published the rest), each one's
    // request.created event is in the workspace's queue.
    eventually(WAIT, "the outbox is empty", || {
        let store = store.clone();
        async move { (store.outbox_len().await.ok()? == 0).then_some(()) }
    })
    .await;
    let conn =
        lapin::Connection::connect(mesh.settings.amqp.url.expose_secret(), Default::default())
            .await
            .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let queue = format!("{}.workspace", mesh.settings.amqp.prefix);
    let mut created = HashSet::new();
    while let Some(msg) = ch
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let env = komek_domain::events::Envelope::decode(&msg.delivery.data).unwrap();
        if env.kind == komek_domain::events::kind::REQUEST_CREATED {
            created.insert(env.request_id.to_string());
        }
    }
    let missing: Vec<&String> = ids.difference(&created).collect();
    assert!(
        missing.is_empty(),
        "request.created never reached the queue for {} requests: {missing:?}",
        missing.len()
    );

    mesh.finish().await;
}

/// A workspace replica with an agent's live page open: on SIGTERM the page's WebSocket is closed
/// with "going away" (so the page reconnects to another replica) and does not hold the shutdown;
/// the process exits 0 well within the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_live_sessions_and_exits_promptly() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let mut mesh = Mesh::start(MeshOptions {
        tag: "gracefulws",
        services: vec!["workspace"],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let agent = mesh.login(&http, "aigerim", "komek-agent").await;
    let live = mesh
        .url("workspace", &format!("/api/v1/live?token={agent}"))
        .replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(live).await.unwrap();
    let mut workspace = mesh.take("workspace", 0);

    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &workspace.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // The socket is closed by the server, with "going away".
    let close = tokio::time::timeout(GRACE, async {
        while let Some(frame) = socket.next().await {
            if let Ok(Message::Close(reason)) = frame {
                return reason;
            }
        }
        None
    })
    .await
    .expect("the server closes the live socket");
    assert_eq!(close.map(|c| c.code), Some(CloseCode::Away));

    // No socket or request holds it: it exits 0 long before the grace period ends.
    let status = eventually(GRACE, "the workspace exits", || {
        let status = workspace.try_wait().unwrap();
        async move { status }
    })
    .await;
    assert!(status.success(), "exit status {status:?}");
    let took = signalled.elapsed();
    assert!(took < GRACE / 2, "stopped in {took:?}");
    mesh.finish().await;
}
