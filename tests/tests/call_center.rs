//! Calls and visits logged by agents, with first-contact resolution, over the real binaries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use komek_e2e::{Mesh, MeshOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A call-centre agent logs a call they solved on the spot: the request is created owned by them,
/// resolved at once with the history line `resolved_at_first_contact`, never queued, and the
/// customer gets a survey like after any resolution. A front-office agent logs a visit they could
/// not solve: it is theirs at once (assigned, never offered to anyone else), with deadlines
/// watched. A department member may not log contacts, and a web channel is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_log_calls_and_visits_with_first_contact_resolution() {
    let mesh = Mesh::start(MeshOptions {
        tag: "contacts",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let agent = mesh.login(&http, "daniyar", "komek-agent").await;
    let url = mesh.url("intake", "/api/v1/contacts");

    let r = http
        .post(&url)
        .bearer_auth(&agent)
        .json(&json!({
            "channel": "call_center",
            "customer": {"msisdn": "+77051112233", "name": "Ольга Петрова"},
            "text": "Не знает, как проверить остаток пакета",
            "category": "tariff",
            "resolution": "Объяснил команду *102#, клиент проверил остаток."
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let solved: Value = r.json().await.unwrap();
    assert_eq!(solved["category"], "tariff");
    let id = solved["id"].as_str().unwrap().to_owned();
    let number = solved["number"].as_str().unwrap().to_owned();
    let view = mesh
        .wait_for_status(
            &http,
            &agent,
            &id,
            "resolved",
            "the call resolved at first contact",
        )
        .await;
    assert_eq!(view["request"]["owner"], "daniyar");
    let actions: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "resolved_at_first_contact"]);
    assert_eq!(view["history"][0]["actor"], "agent:daniyar");
    // Resolved like any other request: the customer gets a survey.
    let survey = mesh.survey_url(&http, &number, "87051112233").await;
    assert!(survey.contains("/s/"));

    let r = http
        .post(&url)
        .bearer_auth(&agent)
        .json(&json!({
            "channel": "front_office",
            "customer": {"msisdn": "+77771234567", "name": "John Smith"},
            "text": "Roaming in Turkey does not work, needs the roaming desk"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let open: Value = r.json().await.unwrap();
    let open_id = open["id"].as_str().unwrap().to_owned();
    let view = mesh
        .wait_for_status(
            &http,
            &agent,
            &open_id,
            "assigned",
            "the visit assigned to its agent",
        )
        .await;
    assert_eq!(view["request"]["owner"], "daniyar");
    assert_eq!(
        view["history"].as_array().unwrap().last().unwrap()["action"],
        "logged_by_agent"
    );
    let queue: Value = http
        .get(mesh.url("workspace", "/api/v1/queue"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        queue["mine"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == open_id.as_str())
    );
    assert!(
        !queue["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == open_id.as_str()),
        "never queued"
    );

    // Only agents log contacts, and only calls and visits.
    let billing = mesh.login(&http, "billing1", "komek-dept").await;
    let r = http
        .post(&url)
        .bearer_auth(&billing)
        .json(
            &json!({"channel": "call_center", "customer": {"msisdn": "+77051112233"}, "text": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(&url)
        .bearer_auth(&agent)
        .json(&json!({"channel": "web", "customer": {"msisdn": "+77051112233"}, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "channel");
    let r = http
        .post(&url)
        .json(&json!({"channel": "call_center", "customer": {}, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    mesh.finish().await;
}
