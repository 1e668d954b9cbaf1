//! `request.customer_message` (written by intake from the status page or its API), applied by
//! the workspace's consumer.

use komek_domain::events::{CustomerMessage, Envelope, kind};
use komek_domain::{Channel, Request};
use komek_store::Store;
use komek_web::testing::{Fixture, Stage, stored_request};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{SignIn, TestApp, WAIT, create_request, spawn_app};

/// The event as intake writes it: alone in the outbox.
async fn customer_writes(store: &Store, r: &Request, text: &str) {
    let payload = CustomerMessage {
        number: r.number.clone(),
        channel: Channel::Web,
        text: text.to_owned(),
    };
    let event = Envelope::new(
        kind::REQUEST_CUSTOMER_MESSAGE,
        r.id,
        &payload,
        OffsetDateTime::now_utc(),
    );
    store.enqueue_event(&event).await.unwrap();
}

/// Polls the request as `token` sees it until its status is `status`.
async fn wait_for_status(app: &TestApp, token: &str, r: &Request, status: &str) -> Value {
    let (http, url, token) = (
        app.http.clone(),
        app.url(&format!("/api/v1/requests/{}", r.id)),
        token.to_owned(),
    );
    komek_testkit::eventually(WAIT, &format!("the request becomes {status}"), || {
        let req = http.get(&url).bearer_auth(&token);
        async move {
            let v: Value = req.send().await.ok()?.json().await.ok()?;
            (v["request"]["status"] == status).then_some(v)
        }
    })
    .await
}

/// Aigerim asks the customer something (`wait_for_customer`): the request waits and its
/// resolution clock stops. The customer's message arrives: it is added as a `customer` message,
/// the history says `customer_message` by `customer:web` (waiting_customer -> in_progress), the
/// request is in progress again and its clock runs (no pause left, the deadline not earlier).
#[tokio::test(flavor = "multi_thread")]
async fn a_message_ends_the_wait_for_the_customer() {
    let mut app = spawn_app("ws-custmsg-wait").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    let r = create_request(&app.store, "Почему списали деньги с баланса?").await;
    let store = app.store.clone();
    komek_testkit::eventually(WAIT, "the consumer queues the new request", || {
        let store = store.clone();
        async move { (store.queue_len().await.unwrap() == 1).then_some(()) }
    })
    .await;
    let taken = app
        .post("/api/v1/queue/next", Some(&aigerim), &json!({}))
        .await;
    assert_eq!(taken.status().as_u16(), 200);
    let asked = app
        .post(
            &format!("/api/v1/requests/{}/replies", r.id),
            Some(&aigerim),
            &json!({ "text": "Пришлите, пожалуйста, дату списания", "wait_for_customer": true }),
        )
        .await;
    assert_eq!(asked.status().as_u16(), 200);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["status"], "waiting_customer");
    assert!(asked["paused_at"].is_string(), "{asked}");
    let due_before = asked["due"]["resolution"].as_str().unwrap().to_owned();

    customer_writes(&app.store, &r, "Списание было 12 ноября").await;
    let view = wait_for_status(&app, &aigerim, &r, "in_progress").await;
    let req = &view["request"];
    let last = req["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["kind"], "customer");
    assert_eq!(last["text"], "Списание было 12 ноября");
    assert!(req["paused_at"].is_null(), "{req}");
    let parse =
        |s: &str| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(parse(req["due"]["resolution"].as_str().unwrap()) >= parse(&due_before));
    let line = view["history"].as_array().unwrap().last().unwrap();
    assert_eq!(line["action"], "customer_message");
    assert_eq!(line["actor"], "customer:web");
    assert_eq!(line["from"], "waiting_customer");
    assert_eq!(line["to"], "in_progress");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A customer writes to a request Aigerim resolved: it is reopened (the history line says why),
/// back among her open requests, with the message added; a new resolution deadline ahead.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_reopens_a_resolved_request() {
    let mut app = spawn_app("ws-custmsg-reopen").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    let r = stored_request(
        &app.store,
        "Не работает интернет",
        Channel::Web,
        Fixture {
            stage: Stage::Resolved {
                agent: "aigerim".into(),
                resolution: "Настройки обновлены".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    customer_writes(&app.store, &r, "Интернет снова не работает").await;
    let view = wait_for_status(&app, &aigerim, &r, "reopened").await;
    let req = &view["request"];
    assert_eq!(
        req["messages"].as_array().unwrap().last().unwrap()["kind"],
        "customer"
    );
    assert!(req["resolved_at"].is_null(), "{req}");
    let due = OffsetDateTime::parse(
        req["due"]["resolution"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(due > OffsetDateTime::now_utc());
    let line = view["history"].as_array().unwrap().last().unwrap();
    assert_eq!(line["action"], "customer_message");
    assert_eq!(line["actor"], "customer:web");
    assert_eq!(line["from"], "resolved");
    assert_eq!(line["to"], "reopened");
    let why = line["detail"].as_str().unwrap();
    assert!(why.contains("after the resolution"), "{why}");
    assert!(why.contains("Интернет снова не работает"), "{why}");
    let mine: Vec<_> = app
        .store
        .owned("aigerim")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert!(mine.contains(&r.id), "back among her requests");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
