//! Losing Redis: intake refuses with 503 and Retry-After instead of pretending, and nothing
//! accepted is lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use komek_e2e::{Mesh, MeshOptions};
use komek_store::Store;
use komek_testkit::eventually;
use komek_testkit::proxy::TcpProxy;
use reqwest::StatusCode;
use serde_json::{Value, json};

const REQUESTS: usize = 90;

/// The services reach Redis only through a proxy. A client posts a stream of requests, each with
/// its own Idempotency-Key, retrying after the Retry-After it is given. A third of the way in the
/// proxy drops Redis; intake answers 503 problem+json with Retry-After (never a success), and the
/// consumers hold the events they were given. After a few refusals Redis comes back: the client's
/// retries are accepted, and every request is in the agent queue exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_answers_503_while_redis_is_away_and_loses_nothing() {
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let mesh = Mesh::start(MeshOptions {
        tag: "rediscut",
        env: vec![(
            "KOMEK__REDIS__URL".into(),
            format!("redis://{}/", proxy.addr),
        )],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let mut accepted = HashSet::new();
    let mut refusals = 0;
    for i in 0..REQUESTS {
        if i == REQUESTS / 3 {
            proxy.cut();
        }
        loop {
            let r = http
                .post(mesh.url("intake", "/api/v1/requests"))
                .header("Idempotency-Key", format!("redis-cut-{i}"))
                .json(&json!({"channel": "email", "customer": {"email": format!("c{i}@example.kz")}, "text": format!("Balance is wrong, case {i}")}))
                .send()
                .await
                .unwrap();
            match r.status() {
                StatusCode::CREATED | StatusCode::OK => {
                    accepted.insert(
                        r.json::<Value>().await.unwrap()["id"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    );
                    break;
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!(r.headers()["content-type"], "application/problem+json");
                    assert!(r.headers().contains_key("retry-after"));
                    refusals += 1;
                    if refusals == 5 {
                        proxy.restore();
                    }
                    // The client honours Retry-After, shortened for the test.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => panic!(
                    "request {i}: unexpected {other}: {}",
                    r.text().await.unwrap()
                ),
            }
        }
    }
    assert!(refusals >= 5, "intake never noticed Redis was gone");
    assert_eq!(accepted.len(), REQUESTS);

    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    eventually(
        Duration::from_secs(60),
        "every accepted request in the agent queue",
        || {
            let store = store.clone();
            async move { (store.queue_len().await.ok()? == REQUESTS as u64).then_some(()) }
        },
    )
    .await;
    for id in &accepted {
        let history = store.history(id.parse().unwrap()).await.unwrap();
        assert_eq!(
            history.iter().filter(|h| h.action == "queued").count(),
            1,
            "request {id}"
        );
    }

    mesh.finish().await;
}
