//! `POST /api/v1/surveys/{token}/responses`: one answer per survey.

use komek_domain::Lang;
use serde_json::{Value, json};

use crate::helpers::{SurveyCalls, fields, problem, resolve, spawn_app};

/// A customer answers the survey: CSAT 6 and 0 are out of range (422 naming `csat`), and do not
/// count as an answer; CSAT 4 is recorded (201); answering again is 409. A survey
/// that does not exist is 404. Every error is problem+json.
#[tokio::test(flavor = "multi_thread")]
async fn answer_once_with_a_valid_score() {
    let mut app = spawn_app("survey-answer").await;
    let (request, token) = resolve(&app.store, &app.settings, Lang::Ru).await;

    for bad in [6, 0] {
        let p = problem(app.respond(&token, &json!({ "csat": bad })).await, 422).await;
        assert_eq!(fields(&p), ["csat"], "{p}");
    }

    let ok = app
        .respond(&token, &json!({ "csat": 4, "comment": "Спасибо" }))
        .await;
    assert_eq!(ok.status().as_u16(), 201);
    let ok: Value = ok.json().await.unwrap();
    assert_eq!(ok["status"], "recorded");

    let again = problem(app.respond(&token, &json!({ "csat": 5 })).await, 409).await;
    assert_eq!(again["code"], "already_answered");

    let hash = komek_survey::token_hash(&token);
    let survey = app.store.survey(&hash).await.unwrap().unwrap();
    assert_eq!(survey.request_id, request.id);
    let answer = survey.answer.expect("the answer is stored");
    assert_eq!(
        (answer.csat, answer.comment.as_deref()),
        (4, Some("Спасибо"))
    );

    problem(
        app.respond(&"B".repeat(43), &json!({ "csat": 4 })).await,
        404,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
