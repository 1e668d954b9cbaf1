//! An agent's work on one request: from the queue to an escalation.

use komek_domain::Request;
use komek_domain::Status;
use komek_domain::escalation::{AnswerOutcome, Escalation};
use komek_domain::events::{Envelope, EscalationAnswered, kind};
use komek_store::Store;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{SignIn, WAIT, create_request, fields, problem, spawn_app};

/// Billing's answer as the escalation service stores it: the answered escalation and its
/// `escalation.answered` event in the outbox, in one commit.
async fn answer_escalation(store: &Store, r: &Request, id: uuid::Uuid, text: &str) {
    let now = OffsetDateTime::now_utc();
    let mut esc = Escalation::open(
        id,
        r.id,
        r.number.clone(),
        "billing",
        "Двойное списание",
        "aigerim",
        Some(r.category),
        None,
        now,
    );
    esc.answer("billing1", text, AnswerOutcome::Resolved, now)
        .unwrap();
    let payload = EscalationAnswered {
        escalation_id: id,
        department: "billing".into(),
        by: "billing1".into(),
        text: text.to_owned(),
        outcome: AnswerOutcome::Resolved,
    };
    let event = Envelope::new(kind::ESCALATION_ANSWERED, r.id, &payload, now);
    let outcome = store
        .create_doc(
            &store.keys().escalation(id),
            &esc,
            Some(&event),
            None,
            vec![],
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, komek_store::Outcome::Done { .. }),
        "{outcome:?}"
    );
}

/// A request is stored with its `request.created` event (as intake does); the workspace's relay
/// publishes it and its consumer puts the request in the queue. Aigerim takes it (queue/next),
/// Daniyar's queue/next finds nothing (204) and his reply to her request is refused (403).
/// Aigerim replies, escalates to a department that does not exist (422 naming `department`),
/// then to billing (201), and cannot resolve while billing has it (409). The history tells the
/// story so far. Billing's answer comes back as an event: the request is in progress again with
/// the answer as a note (its history line shows the outcome), and Aigerim resolves it (200).
#[tokio::test(flavor = "multi_thread")]
async fn agent_takes_replies_escalates_and_resolves() {
    let mut app = spawn_app("ws-flow").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    let daniyar = app.login("daniyar", "komek-agent").await;
    let r = create_request(&app.store, "Почему списали деньги с баланса?").await;

    let store = app.store.clone();
    komek_testkit::eventually(WAIT, "the consumer queues the new request", || {
        let store = store.clone();
        async move { (store.queue_len().await.unwrap() == 1).then_some(()) }
    })
    .await;
    let queue: Value = app
        .get("/api/v1/queue", Some(&aigerim))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["waiting_total"], 1);
    assert_eq!(queue["waiting"][0]["id"], r.id.to_string());
    assert_eq!(queue["waiting"][0]["status"], "queued");

    let taken = app
        .post("/api/v1/queue/next", Some(&aigerim), &json!({}))
        .await;
    assert_eq!(taken.status().as_u16(), 200);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(taken["id"], r.id.to_string());
    assert_eq!(taken["owner"], "aigerim");
    assert_eq!(taken["status"], "assigned");

    let nothing = app
        .post("/api/v1/queue/next", Some(&daniyar), &json!({}))
        .await;
    assert_eq!(nothing.status().as_u16(), 204);

    let path = |action: &str| format!("/api/v1/requests/{}/{action}", r.id);
    let p = problem(
        app.post(
            &path("replies"),
            Some(&daniyar),
            &json!({ "text": "Здравствуйте" }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");

    let replied = app
        .post(
            &path("replies"),
            Some(&aigerim),
            &json!({ "text": "Проверяем списание" }),
        )
        .await;
    assert_eq!(replied.status().as_u16(), 200);
    let replied: Value = replied.json().await.unwrap();
    assert_eq!(replied["status"], "in_progress");

    let p = problem(
        app.post(
            &path("escalations"),
            Some(&aigerim),
            &json!({ "department": "astrology", "reason": "?" }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["department"], "{p}");

    // Control characters other than newline and tab are refused, the field named (a fuzzer once
    // got U+001F stored in an escalation reason); nothing is written.
    let p = problem(
        app.post(
            &path("escalations"),
            Some(&aigerim),
            &json!({ "department": "billing", "reason": "Двойное\u{1f} списание" }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["reason"], "{p}");
    let p = problem(
        app.post(
            &path("replies"),
            Some(&aigerim),
            &json!({ "text": "\u{1b}[31mПроверяем" }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["text"], "{p}");

    let escalated = app
        .post(
            &path("escalations"),
            Some(&aigerim),
            &json!({ "department": "billing", "reason": "Двойное списание" }),
        )
        .await;
    assert_eq!(escalated.status().as_u16(), 201);
    let escalated: Value = escalated.json().await.unwrap();
    assert_eq!(escalated["department"], "billing");
    assert!(
        escalated["escalation_id"]
            .as_str()
            .is_some_and(|id| id.parse::<uuid::Uuid>().is_ok())
    );
    assert_eq!(escalated["request"]["status"], "escalated");

    let p = problem(
        app.post(
            &path("resolve"),
            Some(&aigerim),
            &json!({ "resolution": "Вернули деньги" }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "invalid_transition");

    let view: Value = app
        .get(&format!("/api/v1/requests/{}", r.id), Some(&aigerim))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["request"]["status"], "escalated");
    let actions: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["created", "queued", "assigned", "replied", "escalated"]
    );

    // Billing answers: the escalation service stores its answer with an `escalation.answered`
    // event; the workspace consumer returns the request to Aigerim with the answer as a note.
    let esc_id: uuid::Uuid = escalated["escalation_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    answer_escalation(&app.store, &r, esc_id, "Вернули 2 000 ₸").await;
    let store = app.store.clone();
    komek_testkit::eventually(WAIT, "the consumer applies billing's answer", || {
        let store = store.clone();
        async move {
            store
                .request(r.id)
                .await
                .unwrap()
                .filter(|r| r.status == Status::InProgress)
        }
    })
    .await;
    let view: Value = app
        .get(&format!("/api/v1/requests/{}", r.id), Some(&aigerim))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["request"]["notes"][0]["author"], "billing:billing1");
    assert_eq!(view["request"]["notes"][0]["text"], "Вернули 2 000 ₸");
    let answered = view["history"].as_array().unwrap().last().unwrap();
    assert_eq!(answered["action"], "escalation_answered");
    assert_eq!(
        answered["detail"], "resolved: Вернули 2 000 ₸",
        "the outcome shows"
    );

    let resolved = app
        .post(
            &path("resolve"),
            Some(&aigerim),
            &json!({ "resolution": "Вернули деньги" }),
        )
        .await;
    assert_eq!(resolved.status().as_u16(), 200);
    let resolved: Value = resolved.json().await.unwrap();
    assert_eq!(resolved["status"], "resolved");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
