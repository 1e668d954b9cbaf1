//! Two replicas of every service side by side on one Redis and one RabbitMQ.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use komek_e2e::{Mesh, MeshOptions};
use komek_store::Store;
use komek_testkit::eventually;
use reqwest::StatusCode;
use serde_json::{Value, json};

const REQUESTS: usize = 120;

/// Requests are posted to both intake replicas at once; both workspace replicas consume their
/// `request.created` events and both relays publish the shared outbox. Then six sessions (three
/// agents, each signed in on both workspace replicas) pull `queue/next` concurrently until the
/// queue is empty, resolving each request they get (so their capacity frees up). Every request
/// is assigned exactly once, to one agent, and none is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_everything_assign_each_request_once() {
    let mesh = Mesh::start(MeshOptions {
        tag: "replicas",
        replicas: 2,
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();

    let mut posts = Vec::new();
    for i in 0..REQUESTS {
        let url = mesh.url_on(i % 2, "intake", "/api/v1/requests");
        let http = http.clone();
        posts.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .json(&json!({"channel": "call_center", "customer": {"msisdn": format!("+7705{:07}", i)}, "text": format!("Roaming does not work in Turkey, case {i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        }));
    }
    let mut accepted = HashSet::new();
    for p in posts {
        accepted.insert(p.await.unwrap());
    }
    assert_eq!(accepted.len(), REQUESTS);

    let store = Store::connect(&mesh.settings.redis).await.unwrap();
    eventually(Duration::from_secs(60), "every request queued", || {
        let store = store.clone();
        async move { (store.queue_len().await.ok()? == REQUESTS as u64).then_some(()) }
    })
    .await;

    let mut pullers = Vec::new();
    for (login, password) in [
        ("aigerim", "komek-agent"),
        ("daniyar", "komek-agent"),
        ("saule", "komek-super"),
    ] {
        for replica in 0..2 {
            let (http, login_url, next_url) = (
                http.clone(),
                mesh.url_on(replica, "workspace", "/api/v1/auth/login"),
                mesh.url_on(replica, "workspace", "/api/v1/queue/next"),
            );
            pullers.push(tokio::spawn(async move {
                let token: Value = http
                    .post(login_url)
                    .json(&json!({"login": login, "password": password}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let token = token["token"].as_str().unwrap().to_owned();
                let mut got = Vec::new();
                loop {
                    let r = http
                        .post(&next_url)
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    match r.status() {
                        StatusCode::OK => {
                            let v: Value = r.json().await.unwrap();
                            assert_eq!(v["owner"], login);
                            let id = v["id"].as_str().unwrap().to_owned();
                            let resolve =
                                next_url.replace("/queue/next", &format!("/requests/{id}/resolve"));
                            let done = http
                                .post(resolve)
                                .bearer_auth(&token)
                                .json(&json!({"resolution": "done"}))
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(done.status(), StatusCode::OK);
                            got.push(id);
                        }
                        StatusCode::NO_CONTENT => return got,
                        other => panic!("queue/next answered {other}"),
                    }
                }
            }));
        }
    }
    let mut assigned = Vec::new();
    for p in pullers {
        assigned.extend(p.await.unwrap());
    }
    let distinct: HashSet<String> = assigned.iter().cloned().collect();
    assert_eq!(assigned.len(), REQUESTS, "no request assigned twice");
    assert_eq!(distinct, accepted, "every request assigned");
    assert_eq!(store.queue_len().await.unwrap(), 0);

    mesh.finish().await;
}
