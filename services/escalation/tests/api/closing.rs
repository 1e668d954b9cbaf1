//! A problem's resolution ends a request that is still escalated (`request.resolved` naming the
//! escalation): the escalation closes as resolved, once, and leaves the department's queue and
//! deadline watch.

use komek_domain::Lang;
use komek_domain::escalation::{AnswerOutcome, EscalationStatus};
use komek_domain::events::{Envelope, RequestResolved, kind};
use time::OffsetDateTime;

use crate::helpers::{departments, escalate, spawn_app, wait_status};

#[tokio::test(flavor = "multi_thread")]
async fn a_problem_resolution_closes_the_escalation_once() {
    let mut app = spawn_app("esc-closing").await;
    departments(&app.store, &["billing"]).await;
    let (request, esc) = escalate(&app.store, "billing").await;
    let keys = app.store.keys().clone();
    assert_eq!(
        app.store
            .count_since(&keys.esc_deadlines(), i64::MIN)
            .await
            .unwrap(),
        1
    );

    let payload = RequestResolved {
        number: request.number.clone(),
        language: Lang::Ru,
        resolution: "P-000001: the double charge is refunded".into(),
        agent: "billing-head".into(),
        escalation_id: Some(esc),
    };
    let event = Envelope::new(
        kind::REQUEST_RESOLVED,
        request.id,
        &payload,
        OffsetDateTime::now_utc(),
    );
    // Twice, as a redelivery would: one close, one step.
    app.store.enqueue_event(&event).await.unwrap();
    app.store.enqueue_event(&event).await.unwrap();

    let closed = wait_status(
        &app.store,
        esc,
        EscalationStatus::Answered,
        "the escalation closes",
    )
    .await;
    assert_eq!(closed.outcome, Some(AnswerOutcome::Resolved));
    assert_eq!(closed.answered_by.as_deref(), Some("billing-head"));
    assert_eq!(closed.due_at, None);
    // A second delivery finds the marker (or an answered escalation) and adds nothing.
    let closed = app.store.escalation(esc).await.unwrap().unwrap();
    assert_eq!(
        closed.steps.iter().filter(|s| s.action == "closed").count(),
        1
    );
    assert_eq!(
        app.store
            .count_since(&keys.esc_deadlines(), i64::MIN)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.store
            .count_since(&keys.department_escalations("billing"), i64::MIN)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.store
            .count_since(&keys.department_answered("billing"), i64::MIN)
            .await
            .unwrap(),
        1
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
