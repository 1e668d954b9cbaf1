//! Sign-in and who may see the queue.

use serde_json::{Value, json};

use crate::helpers::{SignIn, problem, spawn_app};

/// A seeded agent signs in with the right password: 200 with a token and her profile (no
/// password hash). The wrong password, and a login nobody has, both get 401 problem+json with
/// the same message, so the answer does not tell which logins exist.
#[tokio::test(flavor = "multi_thread")]
async fn login_ok_wrong_password_and_unknown_user() {
    let mut app = spawn_app("ws-login").await;
    let ok = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "aigerim", "password": "komek-agent" }),
        )
        .await;
    assert_eq!(ok.status().as_u16(), 200);
    let body: Value = ok.json().await.unwrap();
    assert!(
        body["token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "{body}"
    );
    assert_eq!(body["user"]["login"], "aigerim");
    assert_eq!(body["user"]["role"], "agent");
    assert!(body["user"].get("password_hash").is_none(), "{body}");

    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "aigerim", "password": "komek-agent!" }),
        )
        .await;
    let wrong = problem(wrong, 401).await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": "nobody", "password": "komek-agent" }),
        )
        .await;
    let unknown = problem(unknown, 401).await;
    assert_eq!(wrong, unknown, "both failures read the same");
    assert_eq!(wrong["code"], "unauthorized");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The queue without a token, or with a forged one, is 401 problem+json. Department staff sign in
/// fine but get 403 on the agents' queue and on taking work.
#[tokio::test(flavor = "multi_thread")]
async fn queue_needs_an_agent() {
    let mut app = spawn_app("ws-access").await;
    problem(app.get("/api/v1/queue", None).await, 401).await;
    problem(app.get("/api/v1/queue", Some("not.a.token")).await, 401).await;
    problem(app.post("/api/v1/queue/next", None, &json!({})).await, 401).await;

    let billing = app.login("billing1", "komek-dept").await;
    let p = problem(app.get("/api/v1/queue", Some(&billing)).await, 403).await;
    assert_eq!(p["code"], "forbidden");
    problem(
        app.post("/api/v1/queue/next", Some(&billing), &json!({}))
            .await,
        403,
    )
    .await;

    let agent = app.login("daniyar", "komek-agent").await;
    let queue = app.get("/api/v1/queue", Some(&agent)).await;
    assert_eq!(queue.status().as_u16(), 200);
    let queue: Value = queue.json().await.unwrap();
    assert_eq!(queue["waiting_total"], 0);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
