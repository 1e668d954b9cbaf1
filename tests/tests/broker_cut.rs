//! Accepted work survives losing RabbitMQ in the middle of a stream of requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use komek_e2e::{Mesh, MeshOptions};
use komek_store::Store;
use komek_testkit::eventually;
use komek_testkit::proxy::TcpProxy;
use reqwest::StatusCode;
use serde_json::{Value, json};

const REQUESTS: usize = 150;

/// The four services reach RabbitMQ only through a proxy. A client posts a stream of requests;
/// a third of the way in, the proxy drops every broker connection and refuses new ones, and two
/// thirds in it lets them back. Intake keeps accepting throughout (Redis is the system of
/// record); once the broker is back, the relays publish what waited in the outbox, the consumers
/// redeliver what was unacked, and every accepted request is in the agent queue exactly once:
/// the queue holds exactly the accepted ids and each history has exactly one `queued` line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_request_reaches_the_queue_once_across_a_broker_cut() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    let amqp = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    let mesh = Mesh::start(MeshOptions {
        tag: "brokercut",
        env: vec![("KOMEK__AMQP__URL".into(), amqp)],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let mut accepted = HashSet::new();
    for i in 0..REQUESTS {
        if i == REQUESTS / 3 {
            proxy.cut();
        }
        if i == 2 * REQUESTS / 3 {
            // The services noticed: at least one of them reports the broker down.
            eventually(
                Duration::from_secs(30),
                "a service sees the broker gone",
                || {
                    let (http, url) = (http.clone(), mesh.url("intake", "/readyz"));
                    async move {
                        (http.get(url).send().await.ok()?.status()
                            == StatusCode::SERVICE_UNAVAILABLE)
                            .then_some(())
                    }
                },
            )
            .await;
            proxy.restore();
        }
        let r = http
            .post(mesh.url("intake", "/api/v1/requests"))
            .header("Idempotency-Key", format!("cut-{i}"))
            .json(&json!({"channel": "sms", "customer": {"msisdn": format!("+7701{:07}", i)}, "text": format!("Не работает интернет, обращение {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "request {i} was refused");
        accepted.insert(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(accepted.len(), REQUESTS);

    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    eventually(
        Duration::from_secs(90),
        "every accepted request in the agent queue",
        || {
            let store = store.clone();
            async move { (store.queue_len().await.ok()? == REQUESTS as u64).then_some(()) }
        },
    )
    .await;
    let queued: HashSet<String> = store
        .queue(REQUESTS + 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(
        queued, accepted,
        "the queue holds exactly the accepted requests"
    );
    for id in &accepted {
        let history = store.history(id.parse().unwrap()).await.unwrap();
        let times_queued = history.iter().filter(|h| h.action == "queued").count();
        assert_eq!(
            times_queued, 1,
            "request {id} was queued {times_queued} times"
        );
    }
    eventually(Duration::from_secs(30), "the outbox drained", || {
        let store = store.clone();
        async move { (store.outbox_len().await.ok()? == 0).then_some(()) }
    })
    .await;
    mesh.wait_ready().await;

    mesh.finish().await;
}
