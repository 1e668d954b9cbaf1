//! A department answers an escalation, once; the answer goes back to the request as an event.

use komek_domain::escalation::AnswerOutcome;
use komek_domain::events::{EscalationAnswered, kind};
use komek_domain::staff::Role;
use serde_json::{Value, json};

use crate::helpers::{StaffTokens, WAIT, drain_queue, escalate, fields, problem, spawn_app};

/// Billing answers an escalation: 200, answered, by billing1; it moves from billing's open list to
/// its answered list. The relay publishes
/// `escalation.answered` for the request, and it waits in the workspace's queue (no workspace runs
/// in this test) with the escalation id, the department and the text. A second answer is 409; an
/// empty answer is 422 naming `text`. A body of `{text}` alone
/// (the old contract, no `outcome`) answers with a decision.
#[tokio::test(flavor = "multi_thread")]
async fn answer_once_and_publish_it() {
    let mut app = spawn_app("esc-answer").await;
    let (request, esc) = escalate(&app.store, "billing").await;
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let path = format!("/api/v1/escalations/{esc}/answer");

    let p = problem(
        app.post(&path, Some(&billing), &json!({ "text": "   " }))
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["text"], "{p}");

    let answered = app
        .post(&path, Some(&billing), &json!({ "text": "Вернули 2 000 ₸" }))
        .await;
    assert_eq!(answered.status().as_u16(), 200);
    let answered: Value = answered.json().await.unwrap();
    assert_eq!(answered["status"], "answered");
    assert_eq!(answered["answered_by"], "billing1");
    assert_eq!(answered["answer"], "Вернули 2 000 ₸");
    assert_eq!(
        answered["outcome"], "decision",
        "`{{text}}` alone (the old contract) is a decision"
    );

    let again = problem(
        app.post(&path, Some(&billing), &json!({ "text": "Ещё раз" }))
            .await,
        409,
    )
    .await;
    assert_eq!(again["code"], "invalid_escalation_transition");
    let stored = app.store.escalation(esc).await.unwrap().unwrap();
    assert_eq!(
        stored.answer.as_deref(),
        Some("Вернули 2 000 ₸"),
        "the second answer changed nothing"
    );

    let open: Vec<Value> = app
        .get("/api/v1/escalations", Some(&billing))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        open.is_empty(),
        "the answered escalation left billing's open queue: {open:?}"
    );
    let done: Vec<Value> = app
        .get("/api/v1/escalations?status=answered", Some(&billing))
        .await
        .json()
        .await
        .unwrap();
    let done: Vec<&str> = done.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(done, [esc.to_string()]);

    let settings = app.settings.clone();
    let events = komek_testkit::eventually(
        WAIT,
        "escalation.answered reaches the workspace queue",
        || {
            let settings = settings.clone();
            async move {
                let got = drain_queue(&settings, "workspace").await;
                (!got.is_empty()).then_some(got)
            }
        },
    )
    .await;
    assert_eq!(events.len(), 1, "one answer, one event: {events:?}");
    let e = &events[0];
    assert_eq!(e.kind, kind::ESCALATION_ANSWERED);
    assert_eq!(e.request_id, request.id);
    let p: EscalationAnswered = e.payload().unwrap();
    assert_eq!(
        (p.escalation_id, p.department.as_str(), p.by.as_str()),
        (esc, "billing", "billing1")
    );
    assert_eq!(p.text, "Вернули 2 000 ₸");
    assert_eq!(p.outcome, AnswerOutcome::Decision);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
