//! One customer journey over the four real binaries, on the real Redis and RabbitMQ, in one trace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use komek_e2e::otlp::Receiver;
use komek_e2e::{Mesh, MeshOptions, WAIT, poll_json};
use komek_testkit::eventually;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A customer writes in Kazakh on the web form and is acknowledged in Kazakh with a number; an
/// agent takes the request and escalates it to billing; billing staff answer; the answer returns
/// to the agent, who resolves the request; the customer's status page shows a survey link; the
/// customer answers the survey with CSAT 1 and the request is reopened, with the comment in its
/// history. The OTLP receiver then holds spans of this journey from all four services under the
/// trace id the customer's first call started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazakh_request_from_intake_to_reopening_survey_in_one_trace() {
    let otlp = Receiver::start().await;
    let mesh = Mesh::start(MeshOptions {
        tag: "journey",
        otlp: Some(otlp.endpoint.clone()),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    // The customer writes in Kazakh.
    let r = http
        .post(mesh.url("intake", "/api/v1/requests"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({
            "channel": "web",
            "customer": {"msisdn": "+77011234567", "name": "Асқар"},
            "text": "Сәлеметсіз бе! Менің шотымнан ақша екі рет алынды, қайтарып беріңізші."
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let accepted: Value = r.json().await.unwrap();
    let number = accepted["number"].as_str().unwrap().to_owned();
    let id = accepted["id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["language"], "kk");
    assert_eq!(accepted["category"], "billing");
    let ack = accepted["acknowledgment"]["text"].as_str().unwrap();
    assert!(ack.contains("қабылданды") && ack.contains(&number), "{ack}");
    assert_eq!(accepted["acknowledgment"]["channel"], "web");

    // An agent takes it as soon as the workspace has queued it.
    let agent = mesh.login(&http, "aigerim", "komek-agent").await;
    let taken = mesh.take_next(&http, &agent).await;
    assert_eq!(taken["id"], id.as_str());
    assert_eq!(taken["owner"], "aigerim");

    // Escalated to billing.
    let escalation_id = mesh
        .escalate(&http, &agent, &id, "billing", "Екі рет есептен шығару")
        .await;

    // Billing staff see it in their own queue and answer.
    let billing = mesh.login(&http, "billing1", "komek-dept").await;
    poll_json(
        &http,
        &mesh.url("escalation", "/api/v1/escalations"),
        Some(&billing),
        "billing sees the escalation",
        |list| {
            list.as_array()?
                .iter()
                .any(|e| e["id"] == escalation_id.as_str())
                .then_some(())
        },
    )
    .await;
    let network = mesh.login(&http, "network1", "komek-dept").await;
    let path = format!("/api/v1/escalations/{escalation_id}");
    let r = mesh.get_as(&http, "escalation", &path, &network).await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "another department must not see it"
    );
    let answer = json!({"text": "Қайталанған төлем қайтарылды: 2 990 теңге."});
    let r = mesh
        .post_as(
            &http,
            "escalation",
            &format!("{path}/answer"),
            &billing,
            &answer,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The answer returns to the agent's request.
    mesh.wait_for_status(
        &http,
        &agent,
        &id,
        "in_progress",
        "the department's answer returns to the request",
    )
    .await;

    // Resolved.
    let resolution = "Артық алынған 2 990 теңге шотыңызға қайтарылды.";
    mesh.resolve(&http, &agent, &id, resolution).await;

    // The customer's status page shows the survey link (contact spelled the national way).
    let survey_url = mesh.survey_url(&http, &number, "87011234567").await;
    let page = http.get(&survey_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<html lang="kk">"#) && html.contains(&number));
    let token = survey_url.rsplit('/').next().unwrap();
    let r = http
        .post(mesh.url("survey", &format!("/api/v1/surveys/{token}/responses")))
        .json(&json!({"csat": 1, "comment": "Ақша әлі түскен жоқ"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // The low score reopens the request, with the customer's words in its history.
    let view = mesh
        .wait_for_status(&http, &agent, &id, "reopened", "the request is reopened")
        .await;
    let actions: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "queued",
            "assigned",
            "escalated",
            "escalation_answered",
            "resolved",
            "reopened"
        ]
    );
    let last = view["history"].as_array().unwrap().last().unwrap();
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("CSAT 1: Ақша әлі түскен жоқ")
    );

    // One trace across the four services.
    let services: BTreeSet<String> = eventually(
        WAIT,
        "spans of all four services in the journey's trace",
        || {
            let spans = otlp.spans.all();
            async move {
                let s: BTreeSet<String> = spans
                    .iter()
                    .filter(|s| s.trace_id == trace_id)
                    .map(|s| s.service.clone())
                    .collect();
                (s.len() == 4).then_some(s)
            }
        },
    )
    .await;
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        [
            "komek-escalation",
            "komek-intake",
            "komek-survey",
            "komek-workspace"
        ]
    );
    // The logs carry the same trace id.
    assert!(
        mesh.log("intake")
            .contains(&format!("\"trace_id\":\"{trace_id}\""))
    );

    let settings = mesh.settings.clone();
    drop(mesh);
    otlp.stop().await;
    komek_testkit::cleanup(&settings).await;
}
