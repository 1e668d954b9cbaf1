//! What an SRE watches: a journey through the four real binaries moves the `komek_*` metrics each
//! service's `/metrics` exposes, and a real scrape passes `promtool check metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use futures_util::StreamExt;
use komek_e2e::{Mesh, MeshOptions, SERVICES, WAIT};
use komek_testkit::eventually;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

/// One scrape: `name{labels}` (labels as the text format prints them) -> value.
type Scrape = BTreeMap<String, f64>;

async fn scrape_text(http: &reqwest::Client, mesh: &Mesh, service: &str) -> String {
    let r = http
        .get(mesh.url(service, "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{service} /metrics");
    r.text().await.unwrap()
}

fn parse(text: &str) -> Scrape {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(http: &reqwest::Client, mesh: &Mesh, service: &str) -> Scrape {
    parse(&scrape_text(http, mesh, service).await)
}

fn value(s: &Scrape, series: &str) -> f64 {
    s.get(series).copied().unwrap_or(0.0)
}

/// Polls `service`'s `/metrics` until `series` reaches at least `min`.
async fn wait_for(http: &reqwest::Client, mesh: &Mesh, service: &str, series: &str, min: f64) {
    eventually(
        WAIT,
        &format!("{service}: {series} >= {min}"),
        || async move {
            let s = scrape(http, mesh, service).await;
            (value(&s, series) >= min).then_some(())
        },
    )
    .await;
}

/// `promtool check metrics` on `text`, the exposition a real Prometheus would scrape.
fn promtool_check(service: &str, text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is missing: run `scripts/deps.sh promtool` (make test does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics on {service}'s scrape: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Kazakh journey (web -> agent -> billing -> resolved -> survey -> reopened) moves every
/// service's counters and gauges: relay publishes, events handled per queue, requests by status,
/// open escalations per department, live sessions (an agent's page open meanwhile), parked
/// events; and each scrape passes promtool. Open escalations while one is open are checked by
/// the next test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_moves_the_metrics_and_promtool_accepts_the_scrape() {
    let mesh = Mesh::start(MeshOptions {
        tag: "metrics",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();

    // Every service says which build it is and that Redis and RabbitMQ are up.
    for svc in SERVICES {
        let s = scrape(&http, &mesh, svc).await;
        let info = format!(
            "komek_build_info{{service=\"komek-{svc}\",version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(value(&s, &info), 1.0, "{svc}: {info}");
        assert_eq!(value(&s, "komek_redis_up"), 1.0, "{svc}: redis up");
        assert_eq!(
            value(&s, "komek_parked_messages"),
            0.0,
            "{svc}: nothing parked"
        );
    }
    for svc in SERVICES {
        wait_for(&http, &mesh, svc, "komek_amqp_up", 1.0).await;
    }

    // An agent with the workspace page open: one live session there.
    let agent = mesh.login(&http, "aigerim", "komek-agent").await;
    let live = mesh
        .url("workspace", &format!("/api/v1/live?token={agent}"))
        .replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(live).await.unwrap();
    wait_for(&http, &mesh, "workspace", "komek_live_sessions", 1.0).await;

    // The Kazakh journey (tests/src/journey.rs): web -> agent -> billing -> resolved -> survey
    // with CSAT 1 -> reopened.
    komek_e2e::journey::kazakh(&mesh, &http, "7011234567", None).await;

    // Each consumer counted what it handled: the workspace request.created, the department's
    // answer and the survey answer; the escalation service request.escalated; the survey service
    // request.resolved.
    for (svc, min) in [("workspace", 3.0), ("escalation", 1.0), ("survey", 1.0)] {
        wait_for(
            &http,
            &mesh,
            svc,
            &format!("komek_events_handled_total{{queue=\"{svc}\"}}"),
            min,
        )
        .await;
    }
    // Requests by status (every status is a series), and the department's answered escalation.
    let workspace = scrape(&http, &mesh, "workspace").await;
    for status in [
        "new",
        "queued",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
    ] {
        assert_eq!(
            value(
                &workspace,
                &format!("komek_requests{{status=\"{status}\"}}")
            ),
            0.0,
            "{status}"
        );
    }
    assert_eq!(
        value(&workspace, "komek_requests{status=\"reopened\"}"),
        1.0
    );
    let escalation_scrape = scrape(&http, &mesh, "escalation").await;
    assert!(
        escalation_scrape.contains_key("komek_open_escalations{department=\"billing\"}"),
        "every department is a series"
    );
    assert_eq!(
        value(
            &escalation_scrape,
            "komek_open_escalations{department=\"billing\"}"
        ),
        0.0,
        "billing answered"
    );

    // A second request escalated to the network department stays open there.
    let second = mesh
        .post_request(
            &http,
            &json!({
                "channel": "web",
                "customer": {"msisdn": "+77051112233"},
                "text": "Интернет не работает второй день, Алматы"
            }),
        )
        .await;
    let taken = mesh.take_next(&http, &agent).await;
    assert_eq!(taken["id"], second["id"]);
    let id = second["id"].as_str().unwrap();
    mesh.escalate(&http, &agent, id, "network", "Нет связи")
        .await;
    wait_for(
        &http,
        &mesh,
        "escalation",
        "komek_open_escalations{department=\"network\"}",
        1.0,
    )
    .await;
    wait_for(
        &http,
        &mesh,
        "workspace",
        "komek_requests{status=\"escalated\"}",
        1.0,
    )
    .await;

    // Every event went through some replica's relay (they share the outbox): published, none left.
    eventually(WAIT, "the relays published the journey's events", || {
        let (http, mesh) = (&http, &mesh);
        async move {
            let mut published = 0.0;
            let mut outbox = 0.0;
            for svc in SERVICES {
                let s = scrape(http, mesh, svc).await;
                published += value(&s, "komek_relay_published_total");
                outbox += value(&s, "komek_outbox_entries");
            }
            // Two requests' lifecycles, escalations and a survey: well over ten events.
            (published >= 10.0 && outbox == 0.0).then_some(())
        }
    })
    .await;
    let workspace = scrape(&http, &mesh, "workspace").await;
    assert!(
        value(
            &workspace,
            "komek_event_handling_seconds_count{queue=\"workspace\"}"
        ) >= 2.0,
        "handling times recorded"
    );
    assert_eq!(
        value(&workspace, "komek_events_parked_total{queue=\"workspace\"}"),
        0.0
    );
    assert_eq!(value(&workspace, "komek_waiting_requests"), 0.0);
    assert!(
        workspace
            .keys()
            .any(|k| k.starts_with("http_request_duration_seconds_count{")),
        "the HTTP histogram is still there"
    );

    // The page closes: the session is gone.
    socket.close(None).await.unwrap();
    while socket.next().await.is_some() {}
    eventually(WAIT, "the live session ends", || {
        let (http, mesh) = (&http, &mesh);
        async move {
            let s = scrape(http, mesh, "workspace").await;
            (value(&s, "komek_live_sessions") == 0.0).then_some(())
        }
    })
    .await;

    // An event nobody can read is parked: counted by the workspace, and in the parking queue.
    let conn =
        lapin::Connection::connect(mesh.settings.amqp.url.expose_secret(), Default::default())
            .await
            .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.basic_publish(
        format!("{}.events", mesh.settings.amqp.prefix)
            .as_str()
            .into(),
        "request.created".into(),
        Default::default(),
        b"not an event",
        Default::default(),
    )
    .await
    .unwrap();
    wait_for(
        &http,
        &mesh,
        "workspace",
        "komek_events_parked_total{queue=\"workspace\"}",
        1.0,
    )
    .await;
    wait_for(&http, &mesh, "intake", "komek_parked_messages", 1.0).await;
    conn.close(200, "done".into()).await.unwrap();

    // Real scrapes, as Prometheus would read them, pass promtool's checks.
    for svc in SERVICES {
        promtool_check(svc, &scrape_text(&http, &mesh, svc).await);
    }

    mesh.finish().await;
}

/// With Redis away, `/metrics` still answers promptly: `komek_redis_up 0` (the scrape's reads
/// time out or fail instead of holding the scrape), and 1 again once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_with_redis_down_and_say_so() {
    let proxy = komek_testkit::proxy::TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let mesh = Mesh::start(MeshOptions {
        tag: "metricsredis",
        services: vec!["workspace"],
        env: vec![(
            "KOMEK__REDIS__URL".into(),
            format!("redis://{}/", proxy.addr),
        )],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    wait_for(&http, &mesh, "workspace", "komek_redis_up", 1.0).await;

    proxy.cut();
    eventually(WAIT, "komek_redis_up 0 while Redis is away", || {
        let (http, mesh) = (&http, &mesh);
        async move {
            let started = std::time::Instant::now();
            let s = scrape(http, mesh, "workspace").await;
            // The scrape's own timeout (2 s) bounds it, with room for a slow machine.
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "a scrape took {:?}",
                started.elapsed()
            );
            (s.get("komek_redis_up") == Some(&0.0)).then_some(())
        }
    })
    .await;

    proxy.restore();
    wait_for(&http, &mesh, "workspace", "komek_redis_up", 1.0).await;
    mesh.finish().await;
}
