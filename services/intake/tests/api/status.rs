//! `GET /api/v1/requests/{number}/public`: what the customer may see, and only with their contact.

use serde_json::Value;

use crate::helpers::{IntakeCalls, problem, spawn_app};

/// A customer who wrote from +77011234567 asks for the status with their number spelt the
/// national way (8 701 123 45 67): 200 with the status and the acknowledgment, and no staff
/// notes. Someone with another phone number gets 404, byte for byte the same answer as for a
/// number that does not exist, so the endpoint does not reveal which numbers exist.
#[tokio::test(flavor = "multi_thread")]
async fn status_only_for_the_customers_contact() {
    let mut app = spawn_app("intake-status").await;
    let number = app.submitted("Нет связи дома").await;
    let number = number.as_str();

    let resp = app.public_status(number, "8 701 123 45 67").await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["number"], number);
    assert_eq!(body["status"], "new");
    assert_eq!(body["language"], "ru");
    assert_eq!(body["messages"][0]["kind"], "acknowledgment");
    let obj = body.as_object().unwrap();
    for private in ["notes", "owner", "customer", "id", "escalation"] {
        assert!(
            !obj.contains_key(private),
            "public status shows `{private}`: {body}"
        );
    }

    let wrong = app.public_status(number, "+77019999999").await;
    let wrong_ct = wrong.headers().get("content-type").cloned();
    assert_eq!(wrong.status().as_u16(), 404);
    let wrong_body = wrong.bytes().await.unwrap();
    let unknown = app.public_status("KM-999999", "+77011234567").await;
    let unknown_ct = unknown.headers().get("content-type").cloned();
    assert_eq!(unknown.status().as_u16(), 404);
    let unknown_body = unknown.bytes().await.unwrap();
    assert_eq!(
        wrong_body, unknown_body,
        "a wrong contact answers exactly like an unknown number"
    );
    assert_eq!(wrong_ct, unknown_ct);
    let p = problem(app.public_status("KM-999999", "not a contact").await, 404).await;
    assert_eq!(p["code"], "not_found");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The status asked for without the `contact` query parameter is refused with 400, and like
/// every error of the API it is problem+json.
#[tokio::test(flavor = "multi_thread")]
async fn status_without_contact_is_a_problem() {
    let mut app = spawn_app("intake-noquery").await;
    let resp = app
        .http
        .get(app.url("/api/v1/requests/KM-000001/public"))
        .send()
        .await
        .unwrap();
    let p = problem(resp, 400).await;
    assert_eq!(p["code"], "bad_request");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
