//! Who sees which escalations: a department its own, nobody else's, agents none.

use std::collections::HashSet;

use komek_domain::staff::Role;
use serde_json::{Value, json};

use crate::helpers::{StaffTokens, escalate, problem, spawn_app};

/// Two requests are escalated to billing and one to network. Billing staff list exactly their
/// two; network staff exactly their one.
#[tokio::test(flavor = "multi_thread")]
async fn each_department_sees_only_its_own() {
    let mut app = spawn_app("esc-list").await;
    let (_, b1) = escalate(&app.store, "billing").await;
    let (_, b2) = escalate(&app.store, "billing").await;
    let (_, n1) = escalate(&app.store, "network").await;

    let billing = app.token("billing1", Role::DepartmentStaff, Some("billing"));
    let list: Vec<Value> = app
        .get("/api/v1/escalations", Some(&billing))
        .await
        .json()
        .await
        .unwrap();
    let ids: HashSet<String> = list
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, HashSet::from([b1.to_string(), b2.to_string()]));
    assert!(
        list.iter()
            .all(|e| e["department"] == "billing" && e["status"] == "open")
    );

    let network = app.token("network1", Role::DepartmentStaff, Some("network"));
    let list: Vec<Value> = app
        .get("/api/v1/escalations", Some(&network))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [n1.to_string()]);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Network staff ask for a billing escalation by its id, and try to answer it: 404 both times,
/// the same answer as for an id that does not exist (a random uuid) or is not a uuid at all.
/// The billing escalation stays open.
#[tokio::test(flavor = "multi_thread")]
async fn another_departments_escalation_is_not_found() {
    let mut app = spawn_app("esc-404").await;
    let (_, billing_esc) = escalate(&app.store, "billing").await;
    let network = app.token("network1", Role::DepartmentStaff, Some("network"));

    let other = problem(
        app.get(
            &format!("/api/v1/escalations/{billing_esc}"),
            Some(&network),
        )
        .await,
        404,
    )
    .await;
    let random = uuid::Uuid::new_v4();
    let missing = problem(
        app.get(&format!("/api/v1/escalations/{random}"), Some(&network))
            .await,
        404,
    )
    .await;
    let garbage = problem(
        app.get("/api/v1/escalations/not-a-uuid", Some(&network))
            .await,
        404,
    )
    .await;
    assert_eq!(
        other, missing,
        "another department's escalation reads like a missing one"
    );
    assert_eq!(other, garbage);

    let answer = json!({ "text": "Не наше" });
    let other = problem(
        app.post(
            &format!("/api/v1/escalations/{billing_esc}/answer"),
            Some(&network),
            &answer,
        )
        .await,
        404,
    )
    .await;
    let missing = problem(
        app.post(
            &format!("/api/v1/escalations/{random}/answer"),
            Some(&network),
            &answer,
        )
        .await,
        404,
    )
    .await;
    assert_eq!(other, missing);

    let stored = app.store.escalation(billing_esc).await.unwrap().unwrap();
    assert_eq!(stored.answer, None, "the billing escalation is untouched");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Agents and supervisors are not department staff: 403 on the list. No token: 401.
#[tokio::test(flavor = "multi_thread")]
async fn agents_cannot_list_escalations() {
    let mut app = spawn_app("esc-403").await;
    for (login, role) in [("aigerim", Role::Agent), ("saule", Role::Supervisor)] {
        let token = app.token(login, role, None);
        let p = problem(app.get("/api/v1/escalations", Some(&token)).await, 403).await;
        assert_eq!(p["code"], "forbidden");
    }
    problem(app.get("/api/v1/escalations", None).await, 401).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Billing staff ask for their list with a status that does not exist: 400, and like every error
/// of the API it is problem+json.
#[tokio::test(flavor = "multi_thread")]
async fn bad_list_query_is_a_problem() {
    let mut app = spawn_app("esc-query").await;
    let billing = app.token("billing1", Role::DepartmentStaff, Some("billing"));
    let p = problem(
        app.get("/api/v1/escalations?status=lost", Some(&billing))
            .await,
        400,
    )
    .await;
    assert_eq!(p["code"], "bad_request");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
