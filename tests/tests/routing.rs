//! Routing by skill and language, offered assignment with a timeout, live pushes over WebSocket,
//! supervisors' reassignment, and the deadline watcher, over the real binaries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::StreamExt;
use komek_e2e::{Mesh, MeshOptions};
use komek_store::Store;
use komek_testkit::eventually;
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn login(http: &reqwest::Client, mesh: &Mesh, who: &str) -> String {
    let password = match who {
        "saule" => "komek-super",
        _ => "komek-agent",
    };
    let v: Value = http
        .post(mesh.url("workspace", "/api/v1/auth/login"))
        .json(&json!({"login": who, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_owned()
}

async fn presence(http: &reqwest::Client, mesh: &Mesh, token: &str, state: &str) -> Value {
    let r = http
        .put(mesh.url("workspace", "/api/v1/presence"))
        .bearer_auth(token)
        .json(&json!({"state": state}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn post(http: &reqwest::Client, mesh: &Mesh, phone: &str, text: &str) -> (String, String) {
    let body = json!({"channel": "web", "customer": {"msisdn": phone}, "text": text});
    let v = mesh.post_request(http, &body).await;
    (
        v["id"].as_str().unwrap().to_owned(),
        v["priority"].as_str().unwrap().to_owned(),
    )
}

async fn next(http: &reqwest::Client, mesh: &Mesh, token: &str) -> Option<Value> {
    let r = http
        .post(mesh.url("workspace", "/api/v1/queue/next"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    match r.status() {
        StatusCode::OK => Some(r.json().await.unwrap()),
        StatusCode::NO_CONTENT => None,
        s => panic!("queue/next: {s}"),
    }
}

async fn history(http: &reqwest::Client, mesh: &Mesh, token: &str, id: &str) -> Value {
    http.get(mesh.url("workspace", &format!("/api/v1/requests/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_queued(store: &Store, n: u64) {
    let store = store.clone();
    eventually(WAIT, "requests queued", || {
        let store = store.clone();
        async move { (store.queue_len().await.ok()? >= n).then_some(()) }
    })
    .await;
}

/// Pull routing with offers switched off. A Kazakh speaker (aigerim) is online, so daniyar, who
/// does not speak Kazakh, never gets the Kazakh request; marat only takes network, internet and
/// roaming. The most urgent request goes first. When aigerim goes offline, the Kazakh request is
/// no longer held back and the untouched request she held goes back to the queue. Urgent requests
/// go only to agents of level 2 and up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_to_agents_by_skill_language_and_urgency() {
    let mesh = Mesh::start(MeshOptions {
        tag: "routing",
        env: vec![("KOMEK__ROUTING__OFFERS".into(), "false".into())],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    let (aigerim, daniyar, marat) = (
        login(&http, &mesh, "aigerim").await,
        login(&http, &mesh, "daniyar").await,
        login(&http, &mesh, "marat").await,
    );
    presence(&http, &mesh, &aigerim, "online").await;
    presence(&http, &mesh, &daniyar, "online").await;

    let (kk, _) = post(
        &http,
        &mesh,
        "+77011110001",
        "Менің балансымнан ақша дұрыс алынбады",
    )
    .await;
    let (ru_normal, p1) = post(
        &http,
        &mesh,
        "+77011110002",
        "Не понимаю списание с баланса",
    )
    .await;
    let (ru_urgent, p2) = post(
        &http,
        &mesh,
        "+77011110003",
        "Мошенники украли деньги с баланса, срочно",
    )
    .await;
    let (roaming, _) = post(
        &http,
        &mesh,
        "+77011110004",
        "Роуминг не работает за границей",
    )
    .await;
    assert_eq!((p1.as_str(), p2.as_str()), ("normal", "urgent"));
    wait_queued(&store, 4).await;

    // marat: only his categories (roaming here), never billing.
    let m = next(&http, &mesh, &marat)
        .await
        .expect("marat gets the roaming request");
    assert_eq!(m["id"], roaming.as_str());
    assert!(
        next(&http, &mesh, &marat).await.is_none(),
        "nothing else fits marat"
    );

    // daniyar: the urgent Russian request first, then the normal one; never the Kazakh one.
    let d1 = next(&http, &mesh, &daniyar).await.unwrap();
    assert_eq!(d1["id"], ru_urgent.as_str());
    let d2 = next(&http, &mesh, &daniyar).await.unwrap();
    assert_eq!(d2["id"], ru_normal.as_str());
    assert!(
        next(&http, &mesh, &daniyar).await.is_none(),
        "the Kazakh request waits for a Kazakh speaker"
    );

    // aigerim takes the Kazakh one, then goes offline without touching it: it goes back.
    let a = next(&http, &mesh, &aigerim).await.unwrap();
    assert_eq!(a["id"], kk.as_str());
    let out = presence(&http, &mesh, &aigerim, "offline").await;
    assert_eq!(out["handed_back"].as_array().unwrap().len(), 1);
    // With no Kazakh speaker online, daniyar may take it now.
    let d3 = next(&http, &mesh, &daniyar).await.unwrap();
    assert_eq!(d3["id"], kk.as_str());
    let h = history(&http, &mesh, &daniyar, &kk).await;
    let actions: Vec<&str> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["created", "queued", "assigned", "handed_back", "assigned"]
    );

    // Urgent work needs level 2: marat (level 1) does not get an urgent network request; daniyar does.
    let (urgent, p) = post(
        &http,
        &mesh,
        "+77011110005",
        "Мошенники звонят с моего номера, связь пропала",
    )
    .await;
    assert_eq!(p, "urgent");
    wait_queued(&store, 1).await;
    assert!(
        next(&http, &mesh, &marat).await.is_none(),
        "a junior is not given urgent work"
    );
    assert_eq!(
        next(&http, &mesh, &daniyar).await.unwrap()["id"],
        urgent.as_str()
    );

    mesh.finish().await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(url: String) -> Socket {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn ws_next(ws: &mut Socket, what: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no push: {what}"));
        match frame {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(b))) => {
                let v: Value = serde_json::from_str(&b).unwrap();
                if v["type"] == what {
                    return v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended waiting for {what}: {other:?}"),
        }
    }
}

/// Offered assignment over the live connection. aigerim is online with the page open (a
/// WebSocket); a new Kazakh request is offered to her and pushed to her socket; she lets a first
/// offer run out (timeout 1 s): it goes back to the queue and is offered again. She accepts the
/// second offer. The supervisor, also connected, reassigns the request to daniyar, whose socket is
/// told at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_and_reassignment_arrive_over_websocket() {
    let mesh = Mesh::start(MeshOptions {
        tag: "offers",
        env: vec![("KOMEK__ROUTING__OFFER_TIMEOUT_SECS".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let (aigerim, daniyar, saule) = (
        login(&http, &mesh, "aigerim").await,
        login(&http, &mesh, "daniyar").await,
        login(&http, &mesh, "saule").await,
    );
    let ws_url = |t: &str| {
        mesh.url("workspace", &format!("/api/v1/live?token={t}"))
            .replace("http://", "ws://")
    };
    let mut ws_a = ws_connect(ws_url(&aigerim)).await;
    let mut ws_d = ws_connect(ws_url(&daniyar)).await;
    let mut ws_s = ws_connect(ws_url(&saule)).await;
    presence(&http, &mesh, &aigerim, "online").await;

    let (id, _) = post(
        &http,
        &mesh,
        "+77011110009",
        "Интернет жұмыс істемейді, көмектесіңізші",
    )
    .await;
    let first = ws_next(&mut ws_a, "offer.made").await;
    assert_eq!(first["request_id"], id.as_str());
    assert_eq!(first["payload"]["agent"], "aigerim");
    // She lets it time out; it is withdrawn and, as she is the only one online, offered again.
    ws_next(&mut ws_a, "offer.expired").await;
    let again = ws_next(&mut ws_a, "offer.made").await;
    assert_eq!(again["request_id"], id.as_str());
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/offers/{id}/accept")))
        .bearer_auth(&aigerim)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["owner"], "aigerim");
    ws_next(&mut ws_s, "request.assigned").await;

    // Someone else cannot accept it.
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/offers/{id}/accept")))
        .bearer_auth(&daniyar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // The supervisor reassigns it; daniyar is told.
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/requests/{id}/reassign")))
        .bearer_auth(&saule)
        .json(&json!({"agent": "daniyar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let push = ws_next(&mut ws_d, "request.reassigned").await;
    assert_eq!(push["owner"], "daniyar");
    // An agent may not reassign.
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/requests/{id}/reassign")))
        .bearer_auth(&aigerim)
        .json(&json!({"agent": "aigerim"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    mesh.finish().await;
}

/// The deadline watcher with two workspace replicas. A request's first-response warning and
/// breach are made due now (written straight into the deadline index), and one more entry is
/// claimed by a "watcher" that dies at once (the test claims it with a 300 ms lease and never
/// applies it). Each fires exactly once across the replicas: one history line each, the priority
/// raised one step by the breach, the request on the supervisors' watch list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_warnings_and_breaches_fire_once_across_replicas_and_lost_claims() {
    let mesh = Mesh::start(MeshOptions {
        tag: "deadlines",
        replicas: 2,
        env: vec![("KOMEK__ROUTING__OFFERS".into(), "false".into())],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    let (id, priority) = post(&http, &mesh, "+77011110010", "Не работает связь в Алматы").await;
    assert_eq!(priority, "normal");
    wait_queued(&store, 1).await;

    // Every registered entry of this request is made due now; the resolution breach is first
    // claimed by a watcher that dies.
    let mut c = redis::Client::open("redis://127.0.0.1:6379/")
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{}:deadlines", mesh.settings.redis.prefix);
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(members.len(), 4, "{members:?}");
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let lost = members
        .iter()
        .find(|m| m.contains("|res_breach|"))
        .unwrap()
        .clone();
    let _: i64 = redis::cmd("ZADD")
        .arg(&key)
        .arg(now_ms)
        .arg(&lost)
        .query_async(&mut c)
        .await
        .unwrap();
    let claimed = store.claim_due(now_ms, 300, 10).await.unwrap();
    assert!(claimed.iter().any(|d| d.member == lost));
    for m in members.iter().filter(|m| **m != lost) {
        let _: i64 = redis::cmd("ZADD")
            .arg(&key)
            .arg(now_ms)
            .arg(m)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    // The test's own claim took the others too: put them back as due, so the replicas fire them.
    for d in claimed.iter().filter(|d| d.member != lost) {
        let _: i64 = redis::cmd("ZREM")
            .arg(format!("{key}:claimed"))
            .arg(&d.member)
            .query_async(&mut c)
            .await
            .unwrap();
    }

    let saule = login(&http, &mesh, "saule").await;
    let view = eventually(WAIT, "all four deadlines fired", || {
        let (http, mesh_url, saule) = (
            http.clone(),
            mesh.url("workspace", &format!("/api/v1/requests/{id}")),
            saule.clone(),
        );
        async move {
            let v: Value = http
                .get(mesh_url)
                .bearer_auth(saule)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let fired = v["history"]
                .as_array()?
                .iter()
                .filter(|h| h["action"].as_str().unwrap_or("").starts_with("deadline_"))
                .count();
            (fired >= 4).then_some(v)
        }
    })
    .await;
    // Give a double firing every chance to show, then count.
    let settle = store.clone();
    eventually(WAIT, "no claim left", || {
        let store = settle.clone();
        let key = format!("{}:deadlines:claimed", mesh.settings.redis.prefix);
        async move {
            let mut c = store.conn();
            let n: u64 = redis::cmd("ZCARD")
                .arg(key)
                .query_async(&mut c)
                .await
                .ok()?;
            (n == 0).then_some(())
        }
    })
    .await;
    let v = history(&http, &mesh, &saule, &id).await;
    let h = v["history"].as_array().unwrap();
    let count = |a: &str| h.iter().filter(|e| e["action"] == a).count();
    assert_eq!(count("deadline_warning"), 2, "{view}");
    assert_eq!(count("deadline_breached"), 2, "{view}");
    // Each was counted once for /metrics, by whichever replica fired it.
    for series in ["warnings", "breaches"] {
        for kind in ["first_response", "resolution"] {
            let name = format!("komek_deadline_{series}_total{{kind=\"{kind}\"}} ");
            let mut total = 0.0;
            for replica in 0..2 {
                let text = http
                    .get(mesh.url_on(replica, "workspace", "/metrics"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                total += text
                    .lines()
                    .find_map(|l| l.strip_prefix(name.as_str()))
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0);
            }
            assert_eq!(total, 1.0, "{name}");
        }
    }
    // Two breaches: normal -> high -> urgent.
    assert_eq!(v["request"]["priority"], "urgent");
    let sup: Value = http
        .get(mesh.url("workspace", "/api/v1/supervisor"))
        .bearer_auth(&saule)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        sup["watchlist"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str())
    );

    mesh.finish().await;
}

/// Waiting for the customer stops the resolution clock: a reply that asks the customer something
/// puts the request in `waiting_customer` and takes its resolution deadline out of the watcher's
/// index; the next reply resumes it, moves the deadline by the working time spent waiting (never
/// earlier) and watches it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_the_customer_pauses_the_resolution_clock() {
    let mesh = Mesh::start(MeshOptions {
        tag: "pause",
        env: vec![("KOMEK__ROUTING__OFFERS".into(), "false".into())],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    let aigerim = login(&http, &mesh, "aigerim").await;
    let (id, _) = post(&http, &mesh, "+77011110020", "Тарифім дұрыс қосылмады").await;
    wait_queued(&store, 1).await;
    let taken = next(&http, &mesh, &aigerim).await.unwrap();
    let due_before = taken["due"]["resolution"].as_str().unwrap().to_owned();
    let index = |store: Store| {
        let key = format!("{}:deadlines", mesh.settings.redis.prefix);
        async move {
            let mut c = store.conn();
            let all: Vec<String> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async(&mut c)
                .await
                .unwrap();
            all
        }
    };
    let url = mesh.url("workspace", &format!("/api/v1/requests/{id}/replies"));
    let r = http
        .post(&url)
        .bearer_auth(&aigerim)
        .json(&json!({"text": "Қай тарифті қосқыңыз келеді?", "wait_for_customer": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "waiting_customer");
    assert!(v["paused_at"].is_string());
    assert!(
        index(store.clone()).await.iter().all(|m| !m.contains(&id)),
        "nothing of it is watched while it waits"
    );

    let r = http
        .post(&url)
        .bearer_auth(&aigerim)
        .json(&json!({"text": "Тариф қосылды."}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "in_progress");
    assert!(v["paused_at"].is_null());
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert!(parse(v["due"]["resolution"].as_str().unwrap()) >= parse(&due_before));
    let watched = index(store.clone()).await;
    assert_eq!(
        watched
            .iter()
            .filter(|m| m.contains(&id) && m.contains("|res_"))
            .count(),
        2,
        "{watched:?}"
    );

    mesh.finish().await;
}
