//! Sign-in throttling (docs/security.md, "5. Login") and sessions behind short tokens ("7.
//! Tokens and sessions"): refresh, sign-out, expiry, the stored role, and live sockets that end
//! with their session.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{SignIn, TestApp, WAIT, ok_json, problem};

/// The workspace with `edit` applied to the test settings.
async fn spawn_with(tag: &str, edit: impl FnOnce(&mut komek_settings::Settings)) -> TestApp {
    let mut settings = komek_testkit::test_settings(tag);
    edit(&mut settings);
    komek_web::testing::spawn(settings, komek_workspace::startup::build).await
}

/// `POST /api/v1/auth/login` as the client at `address` (behind the trusted proxy).
async fn login_from(
    app: &TestApp,
    address: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap()
}

/// A 429 problem+json with a `Retry-After` of 1 to `max` seconds.
async fn limited(resp: reqwest::Response, max: u64) -> u64 {
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header");
    assert!((1..=max).contains(&retry), "Retry-After {retry}");
    let p = problem(resp, 429).await;
    assert_eq!(p["code"], "rate_limited");
    retry
}

/// Guessing one login's password from many addresses locks that login out (429 with
/// Retry-After), even for the right password from a new address; its owner, at an address she
/// signed in from before, still gets in. Guessing from one address stops that address (429 for
/// any login, the right password included), while successful sign-ins never count against it.
#[tokio::test(flavor = "multi_thread")]
async fn login_hammering_gets_429_with_retry_after() {
    let mut app = spawn_with("ws-throttle", |s| {
        s.web.trust_forwarded_for = true;
        s.auth.login.free_failures = 3;
        s.auth.login.per_address = 4;
        s.auth.login.backoff = Duration::from_secs(60);
    })
    .await;
    let home = "203.0.113.5";
    assert_eq!(
        login_from(&app, home, "aigerim", "komek-agent")
            .await
            .status(),
        200
    );

    // Per login, spread over addresses: 3 free failures, the 4th locks (still 401), then 429.
    for i in 1..=4 {
        let wrong = login_from(&app, &format!("198.51.100.{i}"), "aigerim", "guess").await;
        problem(wrong, 401).await;
    }
    limited(
        login_from(&app, "198.51.100.9", "aigerim", "guess").await,
        60,
    )
    .await;
    limited(
        login_from(&app, "192.0.2.77", "aigerim", "komek-agent").await,
        60,
    )
    .await;
    // The lockout does not hold the owner's own address.
    let owner = login_from(&app, home, "aigerim", "komek-agent").await;
    assert_eq!(owner.status(), 200, "the owner is not locked out");
    // Other logins are not affected.
    assert_eq!(
        login_from(&app, "198.51.100.10", "daniyar", "komek-agent")
            .await
            .status(),
        200
    );

    // Per address: 4 failures (any logins), then 429 until the window ends, right password or not.
    let attacker = "198.51.100.200";
    for i in 0..4 {
        problem(
            login_from(&app, attacker, &format!("nobody{i}"), "x").await,
            401,
        )
        .await;
    }
    let window = app.settings.auth.login.window.as_secs();
    limited(login_from(&app, attacker, "nobody9", "x").await, window).await;
    limited(
        login_from(&app, attacker, "marat", "komek-agent").await,
        window,
    )
    .await;
    // Successes do not count: one office signs in all day.
    for _ in 0..6 {
        assert_eq!(
            login_from(&app, home, "saule", "komek-super")
                .await
                .status(),
            200
        );
    }

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A sign-in's body: the tokens, their expiries, the user.
async fn sign_in(app: &TestApp, login: &str, password: &str) -> Value {
    ok_json(
        app.post(
            "/api/v1/auth/login",
            None,
            &json!({ "login": login, "password": password }),
        )
        .await,
        200,
    )
    .await
}

async fn refresh(app: &TestApp, refresh_token: &Value) -> reqwest::Response {
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": refresh_token }),
    )
    .await
}

/// The sign-in answers the short access token and a refresh token; an expired access token of
/// the same session is refused, but the refresh token gives a new one while the session lives.
/// Each refresh token works once: presented again it is refused, the session kept (a second tab
/// that lost the race).
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refused_but_refresh_works_while_the_session_lives() {
    let mut app = spawn_with("ws-refresh", |_| {}).await;
    let body = sign_in(&app, "aigerim", "komek-agent").await;
    let token = body["token"].as_str().unwrap().to_owned();
    let expires = time::OffsetDateTime::parse(
        body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left <= time::Duration::minutes(15) && left > time::Duration::minutes(14),
        "a 15-minute token: {body}"
    );
    for field in ["refresh_token", "refresh_expires_at", "session_expires_at"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
    let me = ok_json(app.get("/api/v1/auth/session", Some(&token)).await, 200).await;
    assert_eq!(me["user"]["login"], "aigerim");

    // The same session's token, issued 20 minutes ago: expired, refused.
    let tokens = komek_auth::Tokens::new(&app.settings.auth);
    let claims = tokens.verify(&token).unwrap();
    let user = app.store.user("aigerim").await.unwrap().unwrap();
    let (old, _) = tokens
        .issue_at(
            &user,
            claims.sid.as_deref().unwrap(),
            time::OffsetDateTime::now_utc() - time::Duration::minutes(20),
        )
        .unwrap();
    problem(app.get("/api/v1/queue", Some(&old)).await, 401).await;

    let first = ok_json(refresh(&app, &body["refresh_token"]).await, 200).await;
    let renewed = first["token"].as_str().unwrap();
    assert_ne!(first["refresh_token"], body["refresh_token"], "rotated");
    assert_eq!(first["user"]["login"], "aigerim");
    ok_json(app.get("/api/v1/queue", Some(renewed)).await, 200).await;
    // Used once already.
    problem(refresh(&app, &body["refresh_token"]).await, 401).await;
    problem(refresh(&app, &json!("not.a-token")).await, 401).await;
    // The session lives on with the newest refresh token.
    ok_json(app.get("/api/v1/queue", Some(renewed)).await, 200).await;
    let second = ok_json(refresh(&app, &first["refresh_token"]).await, 200).await;
    ok_json(
        app.get("/api/v1/queue", second["token"].as_str()).await,
        200,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Sign-out: 204, then the token is refused (401) and so is its session's refresh token; another
/// session of the same person goes on. Its live socket is closed within the check interval.
#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_token_its_refresh_and_its_socket() {
    let mut app = spawn_with("ws-logout", |s| {
        s.auth.live_check = Duration::from_secs(1);
    })
    .await;
    let body = sign_in(&app, "aigerim", "komek-agent").await;
    let token = body["token"].as_str().unwrap().to_owned();
    let other = app.login("aigerim", "komek-agent").await;
    let live = format!(
        "{}/api/v1/live?token={token}",
        app.address.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(live).await.unwrap();

    let out = app
        .post("/api/v1/auth/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(out.status().as_u16(), 204);
    problem(app.get("/api/v1/queue", Some(&token)).await, 401).await;
    problem(app.get("/api/v1/auth/session", Some(&token)).await, 401).await;
    problem(
        app.post("/api/v1/auth/logout", Some(&token), &json!({}))
            .await,
        401,
    )
    .await;
    problem(refresh(&app, &body["refresh_token"]).await, 401).await;
    ok_json(app.get("/api/v1/queue", Some(&other)).await, 200).await;

    // The socket of the ended session closes (policy violation: sign in again).
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return None,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                    return frame.map(|f| u16::from(f.code));
                }
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the live socket of a signed-out session closes");
    assert_eq!(closed, Some(1008), "closed as a policy violation");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The role is the stored one on every call: a supervisor demoted to agent (even without her
/// sessions being ended) loses the supervisors' routes at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_demotion_counts_at_once() {
    let mut app = spawn_with("ws-demote", |_| {}).await;
    let saule = app.login("saule", "komek-super").await;
    ok_json(app.get("/api/v1/supervisor", Some(&saule)).await, 200).await;
    let mut user = app.store.user("saule").await.unwrap().unwrap();
    user.role = komek_domain::staff::Role::Agent;
    app.store.put_user(&user, None).await.unwrap();
    problem(app.get("/api/v1/supervisor", Some(&saule)).await, 403).await;
    let me = ok_json(app.get("/api/v1/auth/session", Some(&saule)).await, 200).await;
    assert_eq!(me["user"]["role"], "agent");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
