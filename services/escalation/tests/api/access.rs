//! Who sees which escalations: a department its own, nobody else's (404, like an unknown id),
//! supervisors any department's when they name it, agents none; the caller as stored now decides.

use std::collections::HashSet;

use komek_domain::escalation::{EscalationStatus, Tier};
use komek_domain::staff::Role;
use serde_json::{Value, json};

use crate::helpers::{StaffTokens, alter, departments, escalate, fields, problem, spawn_app};

/// Two requests are escalated to billing and one to network. Billing staff list exactly their
/// two; network staff exactly their one; a supervisor lists billing's when naming it.
#[tokio::test(flavor = "multi_thread")]
async fn each_department_sees_only_its_own() {
    let mut app = spawn_app("esc-list").await;
    let (_, b1) = escalate(&app.store, "billing").await;
    let (_, b2) = escalate(&app.store, "billing").await;
    let (_, n1) = escalate(&app.store, "network").await;
    let ids = |list: &[Value]| -> HashSet<String> {
        list.iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let list: Vec<Value> = app
        .get("/api/v1/escalations", Some(&billing))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&list), HashSet::from([b1.to_string(), b2.to_string()]));
    assert!(
        list.iter()
            .all(|e| e["department"] == "billing" && e["status"] == "open")
    );
    let old: Vec<Value> = app
        .get("/api/v1/escalations?status=open", Some(&billing))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&old), ids(&list), "`open` is the old name of `active`");

    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let list: Vec<Value> = app
        .get("/api/v1/escalations", Some(&network))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&list), HashSet::from([n1.to_string()]));

    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    let list: Vec<Value> = app
        .get("/api/v1/escalations?department=billing", Some(&saule))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&list), HashSet::from([b1.to_string(), b2.to_string()]));
    let p = problem(app.get("/api/v1/escalations", Some(&saule)).await, 422).await;
    assert_eq!(fields(&p), ["department"]);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Network staff try every route on a billing escalation, and on a random id: each answers 404,
/// the same problem for both (and for an id that is not a uuid). The billing escalation is
/// untouched.
#[tokio::test(flavor = "multi_thread")]
async fn another_departments_escalation_is_not_found() {
    let mut app = spawn_app("esc-404").await;
    departments(&app.store, &["billing", "network", "roaming"]).await;
    let (_, billing_esc) = escalate(&app.store, "billing").await;
    let network = app
        .staff("network3", Role::DepartmentStaff, Some("network"), 3)
        .await;
    let random = uuid::Uuid::new_v4();

    let actions: [(&str, Value); 4] = [
        ("accept", json!({})),
        ("request-info", json!({ "question": "Какая дата?" })),
        ("answer", json!({ "text": "Не наше" })),
        (
            "reject",
            json!({ "reason": "Не наше", "department": "roaming" }),
        ),
    ];
    let mut seen = Vec::new();
    for id in [billing_esc.to_string(), random.to_string()] {
        let get = problem(
            app.get(&format!("/api/v1/escalations/{id}"), Some(&network))
                .await,
            404,
        )
        .await;
        let mut answers = vec![get];
        for (action, body) in &actions {
            let path = format!("/api/v1/escalations/{id}/{action}");
            answers.push(problem(app.post(&path, Some(&network), body).await, 404).await);
        }
        seen.push(answers);
    }
    assert_eq!(
        seen[0], seen[1],
        "another department's escalation reads like a missing one"
    );
    let garbage = problem(
        app.get("/api/v1/escalations/not-a-uuid", Some(&network))
            .await,
        404,
    )
    .await;
    assert_eq!(seen[0][0], garbage);

    let stored = app.store.escalation(billing_esc).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.status,
            stored.department.as_str(),
            stored.steps.len()
        ),
        (EscalationStatus::Open, "billing", 1),
        "the billing escalation is untouched"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Agents are not department staff: 403 on every route. Supervisors are 403 on the actions;
/// without a token, 401.
#[tokio::test(flavor = "multi_thread")]
async fn agents_get_nothing() {
    let mut app = spawn_app("esc-403").await;
    let (_, esc) = escalate(&app.store, "billing").await;
    let agent = app.staff("aigerim", Role::Agent, None, 2).await;
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    for path in [
        "/api/v1/escalations".to_owned(),
        "/api/v1/escalations?department=billing".to_owned(),
        format!("/api/v1/escalations/{esc}"),
        "/api/v1/department/stats?department=billing".to_owned(),
        "/api/v1/quality/bounced".to_owned(),
    ] {
        let p = problem(app.get(&path, Some(&agent)).await, 403).await;
        assert_eq!(p["code"], "forbidden", "{path}");
    }
    for (action, body) in [
        ("accept", json!({})),
        ("request-info", json!({ "question": "?" })),
        ("answer", json!({ "text": "!" })),
        ("reject", json!({ "reason": "?", "department": "network" })),
    ] {
        let path = format!("/api/v1/escalations/{esc}/{action}");
        for token in [&agent, &saule] {
            problem(app.post(&path, Some(token), &body).await, 403).await;
        }
    }
    problem(app.get("/api/v1/escalations", None).await, 401).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The caller is read from the store on every call: a token for a user who is not stored (gone)
/// is 401; one who now works in another department acts for that department (the stored one),
/// so billing's escalation is not theirs to read (404). An escalation that moved up to the second
/// line (a breach) cannot be taken by first-line billing1 (403 naming the second line); promoted
/// to level 2, billing1 takes it with the same token. After it moved on to the head, billing1 (its
/// assignee) still acts on it, while billing2 of the second line cannot.
#[tokio::test(flavor = "multi_thread")]
async fn the_stored_caller_and_the_tier_decide() {
    let mut app = spawn_app("esc-tier").await;
    let (_, esc) = escalate(&app.store, "billing").await;
    let gone = app
        .token("billing9", Role::DepartmentStaff, Some("billing"))
        .await;
    problem(app.get("/api/v1/escalations", Some(&gone)).await, 401).await;
    let moved = app
        .token("network2", Role::DepartmentStaff, Some("billing"))
        .await;
    app.staff("network2", Role::DepartmentStaff, Some("network"), 2)
        .await;
    let billing_escalation = format!("/api/v1/escalations/{esc}");
    problem(app.get(&billing_escalation, Some(&moved)).await, 404).await;

    alter(&app.store, esc, |e| e.tier = Tier::SecondLine).await;
    let billing1 = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let accept = format!("/api/v1/escalations/{esc}/accept");
    let p = problem(app.post(&accept, Some(&billing1), &json!({})).await, 403).await;
    assert!(p["detail"].as_str().unwrap().contains("second line"), "{p}");
    app.staff("billing1", Role::DepartmentStaff, Some("billing"), 2)
        .await;
    let taken = app.post(&accept, Some(&billing1), &json!({})).await;
    assert_eq!(
        taken.status().as_u16(),
        200,
        "the new level applies at once"
    );

    alter(&app.store, esc, |e| e.tier = Tier::Head).await;
    let ask = format!("/api/v1/escalations/{esc}/request-info");
    let question = json!({ "question": "Номер договора?" });
    let billing2 = app
        .staff("billing2", Role::DepartmentStaff, Some("billing"), 2)
        .await;
    let p = problem(app.post(&ask, Some(&billing2), &question).await, 403).await;
    assert!(p["detail"].as_str().unwrap().contains("head"), "{p}");
    let asked = app.post(&ask, Some(&billing1), &question).await;
    assert_eq!(asked.status().as_u16(), 200, "the assignee still acts");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Billing staff ask for their list with a status that does not exist: 400, and like every error
/// of the API it is problem+json.
#[tokio::test(flavor = "multi_thread")]
async fn bad_list_query_is_a_problem() {
    let mut app = spawn_app("esc-query").await;
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
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
