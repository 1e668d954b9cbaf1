//! Staff administration for supervisors (`/api/v1/admin/staff`): an agent created through the API
//! signs in; others get 403; a bad field is named; a deactivated agent's next call is 401 and
//! their open live socket is closed.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{SignIn, WAIT, fields, ok_json, problem, spawn_app};

fn new_agent(login: &str) -> Value {
    json!({
        "login": login, "name": "Ерлан", "role": "agent", "password": "agent-password-1",
        "skills": ["billing"], "languages": ["kk", "ru"], "level": 2, "capacity": 4
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supervisor_creates_an_agent_who_signs_in_and_others_may_not() {
    let mut app = spawn_app("ws-admin").await;
    let saule = app.login("saule", "komek-super").await;
    let created = ok_json(
        app.post("/api/v1/admin/staff", Some(&saule), &new_agent("erlan"))
            .await,
        201,
    )
    .await;
    assert_eq!(created["role"], "agent");
    assert_eq!(created["capacity"], 4);
    assert_eq!(created["active"], true);
    assert!(created.get("password_hash").is_none());
    let erlan = app.login("erlan", "agent-password-1").await;

    // Agents manage nobody.
    problem(app.get("/api/v1/admin/staff", Some(&erlan)).await, 403).await;
    problem(
        app.post("/api/v1/admin/staff", Some(&erlan), &new_agent("x1"))
            .await,
        403,
    )
    .await;

    // A value that is not one of the roles: 400 naming the field.
    let mut bad = new_agent("x2");
    bad["role"] = json!("boss");
    let p = problem(
        app.post("/api/v1/admin/staff", Some(&saule), &bad).await,
        400,
    )
    .await;
    assert_eq!(fields(&p), ["role"], "{p}");
    // Values of the right type that are not valid: 422 naming each.
    let mut bad = new_agent("x3");
    bad["password"] = json!("short");
    let p = problem(
        app.post("/api/v1/admin/staff", Some(&saule), &bad).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["password"], "{p}");
    let mut bad = new_agent("x4");
    bad["capacity"] = json!(0);
    bad["languages"] = json!([]);
    let p = problem(
        app.post("/api/v1/admin/staff", Some(&saule), &bad).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["languages", "capacity"], "{p}");
    problem(
        app.post("/api/v1/admin/staff", Some(&saule), &new_agent("erlan"))
            .await,
        409,
    )
    .await;

    // PATCH changes what it names.
    let patched = ok_json(
        app.http
            .patch(app.url("/api/v1/admin/staff/erlan"))
            .bearer_auth(&saule)
            .json(&json!({ "capacity": 6, "skills": [] }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["capacity"], 6);
    assert_eq!(patched["name"], "Ерлан");
    let list = ok_json(app.get("/api/v1/admin/staff", Some(&saule)).await, 200).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|u| u["login"] == "erlan")
    );

    // A password reset: the old password and the old token stop working.
    ok_json(
        app.post(
            "/api/v1/admin/staff/erlan/password",
            Some(&saule),
            &json!({ "password": "agent-password-2" }),
        )
        .await,
        200,
    )
    .await;
    problem(app.get("/api/v1/queue", Some(&erlan)).await, 401).await;
    app.login("erlan", "agent-password-2").await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivation_ends_the_api_session_and_the_live_socket() {
    let mut app = spawn_app("ws-deactivate").await;
    let saule = app.login("saule", "komek-super").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    ok_json(app.get("/api/v1/queue", Some(&aigerim)).await, 200).await;
    let online = app
        .put(
            "/api/v1/presence",
            Some(&aigerim),
            &json!({ "state": "online" }),
        )
        .await;
    assert!(online.status().is_success(), "{}", online.status());
    let live = format!(
        "{}/api/v1/live?token={aigerim}",
        app.address.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(live).await.unwrap();

    let off = ok_json(
        app.post(
            "/api/v1/admin/staff/aigerim/deactivate",
            Some(&saule),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(off["active"], false);
    // Routing offers her nothing more.
    assert_eq!(
        app.store.presence_of("aigerim").await.unwrap(),
        komek_domain::staff::Presence::Offline
    );
    problem(app.get("/api/v1/queue", Some(&aigerim)).await, 401).await;
    // The same answer as a wrong password.
    problem(
        app.post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "aigerim", "password": "komek-agent" }),
        )
        .await,
        401,
    )
    .await;

    // The socket closes (the staff.changed event reaches every replica's live feed). The
    // replica's fan-out queue binds as the service starts, and an event published before passes
    // it by: until the socket closes, deactivate again (activate first: deactivating someone
    // inactive changes nothing and says nothing).
    let deadline = tokio::time::Instant::now() + WAIT;
    'closed: loop {
        let round = (tokio::time::Instant::now() + std::time::Duration::from_secs(2)).min(deadline);
        loop {
            match tokio::time::timeout_at(round, ws.next()).await {
                Err(_) => break,
                Ok(None | Some(Err(_))) => break 'closed,
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => break 'closed,
                Ok(Some(Ok(_))) => {}
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the live socket closes"
        );
        for step in ["activate", "deactivate"] {
            ok_json(
                app.post(
                    &format!("/api/v1/admin/staff/aigerim/{step}"),
                    Some(&saule),
                    &json!({}),
                )
                .await,
                200,
            )
            .await;
        }
    }
    // Not oneself.
    let p = problem(
        app.post(
            "/api/v1/admin/staff/saule/deactivate",
            Some(&saule),
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(p["detail"], "you cannot deactivate yourself");
    // Activated again: signs in anew; the old token stays ended.
    ok_json(
        app.post(
            "/api/v1/admin/staff/aigerim/activate",
            Some(&saule),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    problem(app.get("/api/v1/queue", Some(&aigerim)).await, 401).await;
    let again = app.login("aigerim", "komek-agent").await;
    ok_json(app.get("/api/v1/queue", Some(&again)).await, 200).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
