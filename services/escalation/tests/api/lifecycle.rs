//! An escalation's life in its department: accepted, information asked of the agent and given,
//! answered; each step an event for the request's history.

use komek_domain::Category;
use komek_domain::escalation::{AnswerOutcome, EscalationStatus};
use komek_domain::events::{Envelope, EscalationAnswered, EscalationChanged, kind};
use komek_domain::staff::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{
    StaffTokens, act, departments, drain_until, escalate, fields, spawn_app, wait_status,
};

/// Billing's first line takes a new escalation (it came with billing's deadline for the request's
/// category, watched in `esc:deadlines`), asks the agent which date was charged twice (the
/// deadline stops: nothing watched), and the agent answers through the workspace
/// (`escalation.info_given`: accepted again, the deadline watched again, not earlier than before).
/// Billing answers `resolved`. The workspace's queue gets `escalation.accepted`,
/// `escalation.info_requested` and `escalation.answered`, in that order, for the request; the
/// steps tell the same story. Asking with an empty question is 422 naming `question`; answering
/// twice is 409.
#[tokio::test(flavor = "multi_thread")]
async fn accepted_info_requested_given_and_answered() {
    let mut app = spawn_app("esc-life").await;
    departments(&app.store, &["billing"]).await;
    let (request, esc) = escalate(&app.store, "billing").await;
    let watched = || {
        let store = app.store.clone();
        async move {
            store
                .count_since(&store.keys().esc_deadlines(), i64::MIN)
                .await
                .unwrap()
        }
    };
    let opened = app.store.escalation(esc).await.unwrap().unwrap();
    assert_eq!(opened.category, Some(Category::Billing));
    let due = opened.due_at.expect("opened with billing's deadline");
    assert!(due > opened.created_at);
    assert_eq!(watched().await, 1, "its deadline is watched");

    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let path = |action: &str| format!("/api/v1/escalations/{esc}/{action}");
    let accepted = act(&app, &billing, esc, "accept", &json!({})).await;
    assert_eq!(
        (&accepted["status"], &accepted["assignee"]),
        (&json!("accepted"), &json!("billing1"))
    );

    let p = crate::helpers::problem(
        app.post(
            &path("request-info"),
            Some(&billing),
            &json!({ "question": "" }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["question"]);
    let question = json!({ "question": "Какого числа было списание?" });
    let asked = act(&app, &billing, esc, "request-info", &question).await;
    assert_eq!(asked["status"], "info_requested");
    assert!(asked["paused_at"].is_string());
    assert_eq!(
        watched().await,
        0,
        "the deadline stops while the agent is asked"
    );

    // The agent answers in the workspace, which publishes this.
    let given = EscalationChanged {
        escalation_id: esc,
        number: request.number.clone(),
        department: "billing".into(),
        by: "aigerim".into(),
        detail: Some("5 марта".into()),
        from_department: None,
        tier: None,
        due: None,
    };
    let event = Envelope::new(
        kind::ESCALATION_INFO_GIVEN,
        request.id,
        &given,
        OffsetDateTime::now_utc(),
    );
    app.store.enqueue_event(&event).await.unwrap();
    let resumed = wait_status(
        &app.store,
        esc,
        EscalationStatus::Accepted,
        "the consumer applies the information",
    )
    .await;
    assert_eq!(resumed.paused_at, None);
    assert!(
        resumed.due_at.unwrap() >= due,
        "waiting moved the deadline on"
    );
    assert_eq!(watched().await, 1, "the deadline runs again");

    let answer = json!({ "text": "Вернули 2 000 ₸", "outcome": "resolved" });
    let answered = act(&app, &billing, esc, "answer", &answer).await;
    assert_eq!(
        (&answered["status"], &answered["outcome"]),
        (&json!("answered"), &json!("resolved"))
    );
    assert_eq!(watched().await, 0);
    let again = app
        .post(&path("answer"), Some(&billing), &json!({ "text": "Ещё" }))
        .await;
    assert_eq!(again.status().as_u16(), 409);
    assert_eq!(
        again.json::<Value>().await.unwrap()["code"],
        "invalid_escalation_transition"
    );

    let stored = app.store.escalation(esc).await.unwrap().unwrap();
    let steps: Vec<(&str, &str)> = stored
        .steps
        .iter()
        .map(|s| (s.action.as_str(), s.actor.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("opened", "aigerim"),
            ("accepted", "billing1"),
            ("info_requested", "billing1"),
            ("info_given", "aigerim"),
            ("answered", "billing1"),
        ]
    );
    assert_eq!(stored.steps[3].detail.as_deref(), Some("5 марта"));

    let events = drain_until(&app.settings, "workspace", 3).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            kind::ESCALATION_ACCEPTED,
            kind::ESCALATION_INFO_REQUESTED,
            kind::ESCALATION_ANSWERED
        ]
    );
    assert!(events.iter().all(|e| e.request_id == request.id));
    let asked: EscalationChanged = events[1].payload().unwrap();
    assert_eq!(
        (asked.by.as_str(), asked.detail.as_deref()),
        ("billing1", Some("Какого числа было списание?"))
    );
    let answer: EscalationAnswered = events[2].payload().unwrap();
    assert_eq!(answer.outcome, AnswerOutcome::Resolved);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A staff member's own queue: `mine=true` lists what they accepted, and after they answered it,
/// `status=all` still lists it for them with the active ones first.
#[tokio::test(flavor = "multi_thread")]
async fn mine_and_all() {
    let mut app = spawn_app("esc-mine").await;
    let (_, taken) = escalate(&app.store, "billing").await;
    let (_, other) = escalate(&app.store, "billing").await;
    let billing1 = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let list = |q: &'static str| {
        let (app, token) = (&app, &billing1);
        async move {
            let v: Vec<Value> = app
                .get(&format!("/api/v1/escalations?{q}"), Some(token))
                .await
                .json()
                .await
                .unwrap();
            v.iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    act(&app, &billing1, taken, "accept", &json!({})).await;
    assert_eq!(list("mine=true").await, [taken.to_string()]);
    act(
        &app,
        &billing1,
        taken,
        "answer",
        &json!({ "text": "Готово" }),
    )
    .await;
    assert!(list("mine=true").await.is_empty());
    assert_eq!(list("status=all&mine=true").await, [taken.to_string()]);
    assert_eq!(
        list("status=all").await,
        [other.to_string(), taken.to_string()]
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
