//! The Kazakh customer journey, on any running Komek: a [`crate::Mesh`] of processes
//! (tests/journey.rs) or the chart's pods (`pods-journey`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Endpoints, poll_json};

/// What the journey made, for the caller's own checks.
pub struct Journey {
    /// The request's id and public number.
    pub id: String,
    pub number: String,
}

/// A customer (national number `msisdn`, ten digits after the country code, e.g. `7011234567`)
/// writes in Kazakh on the web form and is acknowledged in Kazakh with a number; the agent aigerim
/// takes the request and escalates it to billing; billing1 answers (another department's staff
/// cannot see the escalation); the answer returns to the agent, who resolves the request; the
/// customer's status page shows a survey link; the customer answers with CSAT 1 and the request is
/// reopened, with the comment in its history. `traceparent` is sent with the first call.
/// Panics at the first step that does not happen; needs the demo logins (seed.demo = true).
pub async fn kazakh(
    ep: &Endpoints,
    http: &reqwest::Client,
    msisdn: &str,
    traceparent: Option<&str>,
) -> Journey {
    // The customer writes in Kazakh.
    let mut req = http.post(ep.url("intake", "/api/v1/requests"));
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    let r = req
        .json(&json!({
            "channel": "web",
            "customer": {"msisdn": format!("+7{msisdn}"), "name": "Асқар"},
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
    let agent = ep.login(http, "aigerim", "komek-agent").await;
    let taken = ep.take_next(http, &agent).await;
    assert_eq!(taken["id"], id.as_str());
    assert_eq!(taken["owner"], "aigerim");

    // Escalated to billing.
    let escalation_id = ep
        .escalate(http, &agent, &id, "billing", "Екі рет есептен шығару")
        .await;

    // Billing staff see it in their own queue and answer.
    let billing = ep.login(http, "billing1", "komek-dept").await;
    poll_json(
        http,
        &ep.url("escalation", "/api/v1/escalations"),
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
    let network = ep.login(http, "network1", "komek-dept").await;
    let path = format!("/api/v1/escalations/{escalation_id}");
    let r = ep.get_as(http, "escalation", &path, &network).await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "another department must not see it"
    );
    let answer = json!({"text": "Қайталанған төлем қайтарылды: 2 990 теңге."});
    let r = ep
        .post_as(
            http,
            "escalation",
            &format!("{path}/answer"),
            &billing,
            &answer,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The answer returns to the agent's request.
    ep.wait_for_status(
        http,
        &agent,
        &id,
        "in_progress",
        "the department's answer returns to the request",
    )
    .await;

    // Resolved.
    let resolution = "Артық алынған 2 990 теңге шотыңызға қайтарылды.";
    ep.resolve(http, &agent, &id, resolution).await;

    // The customer's status page shows the survey link (contact spelled the national way).
    let survey_url = ep.survey_url(http, &number, &format!("8{msisdn}")).await;
    let page = http.get(&survey_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<html lang="kk">"#) && html.contains(&number));
    let token = survey_url.rsplit('/').next().unwrap();
    let r = http
        .post(ep.url("survey", &format!("/api/v1/surveys/{token}/responses")))
        .json(&json!({"csat": 1, "comment": "Ақша әлі түскен жоқ"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // The low score reopens the request, with the customer's words in its history.
    let view = ep
        .wait_for_status(http, &agent, &id, "reopened", "the request is reopened")
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
    Journey { id, number }
}
