//! The same customer writing the same thing on two channels gets one request, not two.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use komek_e2e::{Mesh, MeshOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A customer writes on the web form, then sends nearly the same text by SMS ten seconds later
/// (within the 60-minute window): the second contact is linked to the first request and answered
/// with the first one's number; the agent finds the SMS text as a customer message in that
/// request; search by phone finds one request. A different text from the same number is a new
/// request, and so is the same text from another number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_thing_on_two_channels_is_one_request() {
    let mesh = Mesh::start(MeshOptions {
        tag: "dupes",
        env: vec![(
            "KOMEK__REQUESTS__DUPLICATE_WINDOW_MINUTES".into(),
            "60".into(),
        )],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let post = |channel: &str, phone: &str, text: &str| {
        http.post(mesh.url("intake", "/api/v1/requests"))
            .json(&json!({"channel": channel, "customer": {"msisdn": phone}, "text": text}))
            .send()
    };
    let r = post(
        "web",
        "+77011230001",
        "Интернет не работает третий день в Алматы, помогите",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let first: Value = r.json().await.unwrap();
    let r = post(
        "sms",
        "8 701 123 00 01",
        "Интернет не работает третий день в Алматы!",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "linked, not created");
    let linked: Value = r.json().await.unwrap();
    assert_eq!(linked["number"], first["number"]);
    assert_eq!(linked["id"], first["id"]);
    assert!(
        linked["acknowledgment"]["text"]
            .as_str()
            .unwrap()
            .contains(first["number"].as_str().unwrap())
    );

    let agent = mesh.login(&http, "daniyar", "komek-agent").await;
    let id = first["id"].as_str().unwrap();
    let view = komek_e2e::poll_json(
        &http,
        &mesh.url("workspace", &format!("/api/v1/requests/{id}")),
        Some(&agent),
        "the SMS joins the first request",
        |v| {
            v["request"]["messages"]
                .as_array()?
                .iter()
                .any(|m| m["kind"] == "customer")
                .then(|| v.clone())
        },
    )
    .await;
    let msg = view["request"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "customer")
        .unwrap()
        .clone();
    assert_eq!(msg["text"], "Интернет не работает третий день в Алматы!");

    let r = post("sms", "+77011230001", "Как подключить роуминг в Турции?")
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "another subject is another request"
    );
    let r = post(
        "sms",
        "+77011230002",
        "Интернет не работает третий день в Алматы, помогите",
    )
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "another customer is another request"
    );
    let found: Value = http
        .get(mesh.url("workspace", "/api/v1/search?phone=%2B77011230001"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 2);

    mesh.finish().await;
}
