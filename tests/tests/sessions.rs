//! Sessions across the four services (docs/security.md, "7. Tokens and sessions"): a token signed
//! in on the workspace works on every service; a sign-out on any of them ends it on all four, with
//! its refresh token and its live socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::StreamExt;
use komek_e2e::{Mesh, MeshOptions, SERVICES};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn sign_in(http: &reqwest::Client, mesh: &Mesh) -> Value {
    let r = http
        .post(mesh.url("workspace", "/api/v1/auth/login"))
        .json(&json!({"login": "saule", "password": "komek-super"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// What each service answers a staff call made with `token`: its session, and a route of its own.
async fn answers(http: &reqwest::Client, mesh: &Mesh, token: &str) -> Vec<(String, StatusCode)> {
    let mut out = Vec::new();
    for svc in SERVICES {
        let r = mesh.get_as(http, svc, "/api/v1/auth/session", token).await;
        out.push((format!("{svc} session"), r.status()));
    }
    let calls = [
        ("workspace", "/api/v1/supervisor"),
        ("escalation", "/api/v1/quality/bounced"),
    ];
    for (svc, path) in calls {
        let r = mesh.get_as(http, svc, path, token).await;
        out.push((format!("{svc} {path}"), r.status()));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_on_one_service_ends_the_token_on_all_four() {
    let mesh = Mesh::start(MeshOptions {
        tag: "e2e-sessions",
        env: vec![("KOMEK__AUTH__LIVE_CHECK_SECS".into(), "1".into())],
        ..MeshOptions::default()
    })
    .await;
    let http = reqwest::Client::new();
    let body = sign_in(&http, &mesh).await;
    let token = body["token"].as_str().unwrap().to_owned();
    let other = sign_in(&http, &mesh).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (what, status) in answers(&http, &mesh, &token).await {
        assert_eq!(status, StatusCode::OK, "{what} before the sign-out");
    }
    let ws_url = format!(
        "{}/api/v1/live?token={token}",
        mesh.url("escalation", "").replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();

    // Signed in on the workspace, signed out on the escalation service.
    let r = http
        .post(mesh.url("escalation", "/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    for (what, status) in answers(&http, &mesh, &token).await {
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{what} after the sign-out"
        );
    }
    let contact = json!({"channel": "call_center", "customer": {"msisdn": "+77011234567"},
        "text": "Не работает интернет"});
    let r = mesh
        .post_as(&http, "intake", "/api/v1/contacts", &token, &contact)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "intake /api/v1/contacts"
    );
    for svc in ["workspace", "escalation"] {
        let r = http
            .post(mesh.url(svc, "/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": body["refresh_token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "refresh on {svc}");
    }
    for (what, status) in answers(&http, &mesh, &other).await {
        assert_eq!(status, StatusCode::OK, "{what}: another session goes on");
    }

    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) => return false,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the live socket of the ended session closes");
    assert!(closed, "closed with a close frame");

    mesh.finish().await;
}
