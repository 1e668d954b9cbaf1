//! The page's own routes: the sign-in (the shared `komek_auth::login` handler, on this service
//! too) and an escalation's context, readable exactly where the escalation is.

use komek_domain::staff::Role;
use serde_json::{Value, json};

use crate::helpers::{StaffTokens, escalate, problem, spawn_app, user};

/// Staff sign in on the escalation service and the token works here; a wrong password or an
/// unknown login gets the same 401.
#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_on_the_escalation_service() {
    let mut app = spawn_app("esc-login").await;
    let mut u = user("billing1", Role::DepartmentStaff, Some("billing"), 3);
    u.password_hash = komek_auth::hash_password("komek-dept").unwrap();
    app.store.put_user(&u, None).await.unwrap();

    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "billing1", "password": "komek-dept"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let ok: Value = r.json().await.unwrap();
    assert_eq!(ok["user"]["department"], "billing");
    assert_eq!(ok["user"]["level"], 3);
    let token = ok["token"].as_str().unwrap();
    let r = app.get("/api/v1/escalations", Some(token)).await;
    assert_eq!(r.status(), 200);

    for (login, password) in [("billing1", "wrong"), ("nobody", "komek-dept")] {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": login, "password": password}),
            )
            .await;
        problem(r, 401).await;
    }
    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Billing staff read the context of billing's escalation: the escalation, the request with its
/// conversation, its history and the customer view; a supervisor too. Network staff, an unknown
/// or malformed id get 404; agents 403; a billing token whose user has moved to network acts for
/// network now (the stored department), so 404 like network's own staff.
#[tokio::test(flavor = "multi_thread")]
async fn the_context_is_readable_where_the_escalation_is() {
    let mut app = spawn_app("esc-context").await;
    let (request, id) = escalate(&app.store, "billing").await;
    let path = format!("/api/v1/escalations/{id}/context");

    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let r = app.get(&path, Some(&billing)).await;
    assert_eq!(r.status(), 200);
    let ctx: Value = r.json().await.unwrap();
    assert_eq!(ctx["escalation"]["id"], id.to_string());
    assert_eq!(ctx["request"]["id"], request.id.to_string());
    assert_eq!(ctx["request"]["text"], request.text.as_str());
    assert!(ctx["request"]["messages"].is_array());
    assert!(
        ctx["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["action"] == "escalated"),
        "{ctx}"
    );
    assert_eq!(ctx["customer"]["degraded"], false, "{ctx}");
    assert!(ctx["customer"]["requests"].is_array(), "{ctx}");

    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    assert_eq!(app.get(&path, Some(&saule)).await.status(), 200);

    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 3)
        .await;
    for p in [
        path.clone(),
        format!("/api/v1/escalations/{}/context", uuid::Uuid::now_v7()),
        "/api/v1/escalations/not-an-id/context".to_owned(),
    ] {
        problem(app.get(&p, Some(&network)).await, 404).await;
    }
    let agent = app.staff("aigerim", Role::Agent, None, 2).await;
    problem(app.get(&path, Some(&agent)).await, 403).await;

    // billing1 moves to network: the old token no longer reads billing's escalations.
    app.staff("billing1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    problem(app.get(&path, Some(&billing)).await, 404).await;
    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
