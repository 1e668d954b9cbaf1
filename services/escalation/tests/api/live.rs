//! The department page's live socket, `GET /api/v1/live?token=...`: who may open it, and which
//! department's staff each event reaches.

use std::time::Duration;

use futures_util::StreamExt;
use komek_domain::events::kind;
use komek_domain::staff::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use uuid::Uuid;

use crate::helpers::{StaffTokens, TestApp, WAIT, act, departments, escalate, spawn_app, user};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn live_url(app: &TestApp, token: &str) -> String {
    format!(
        "{}/api/v1/live?token={token}",
        app.url("").replace("http", "ws")
    )
}

/// The HTTP status the socket's handshake is refused with, or 101 when it opens.
async fn handshake(app: &TestApp, token: &str) -> u16 {
    match tokio_tungstenite::connect_async(live_url(app, token)).await {
        Ok(_) => 101,
        Err(WsError::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("handshake: {e}"),
    }
}

async fn connect(app: &TestApp, token: &str) -> Socket {
    tokio_tungstenite::connect_async(live_url(app, token))
        .await
        .unwrap()
        .0
}

/// The next push on `ws` within `within`, or None.
async fn next_push(ws: &mut Socket, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(b)))) => return Some(serde_json::from_str(&b).unwrap()),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended: {other:?}"),
        }
    }
}

/// Waits for a push of type `kind` about escalation `id`, skipping others.
async fn push_about(ws: &mut Socket, kind: &str, id: Uuid) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let v = next_push(ws, left)
            .await
            .unwrap_or_else(|| panic!("no {kind} push for {id}"));
        if v["type"] == kind && v["escalation_id"] == id.to_string() {
            return v;
        }
    }
}

/// Agents get 403, a bad token 401, a token of someone moved to another department since (which
/// ends their sessions, as the admin API does) 401; department staff and supervisors connect.
#[tokio::test(flavor = "multi_thread")]
async fn only_department_staff_and_supervisors_connect() {
    let mut app = spawn_app("esc-live-access").await;
    let agent = app.staff("aigerim", Role::Agent, None, 1).await;
    assert_eq!(handshake(&app, &agent).await, 403);
    assert_eq!(handshake(&app, "not-a-token").await, 401);
    let moved = app
        .token("billing9", Role::DepartmentStaff, Some("billing"))
        .await;
    let mut network = user("billing9", Role::DepartmentStaff, Some("network"), 1);
    network.sessions_after = komek_auth::sessions_cut_off();
    app.store.put_user(&network, None).await.unwrap();
    assert_eq!(handshake(&app, &moved).await, 401);
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    assert_eq!(handshake(&app, &billing).await, 101);
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    assert_eq!(handshake(&app, &saule).await, 101);
    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A new escalation is pushed to its department's staff and the supervisors; a reroute to both
/// the department it left and the one it reached; another department's staff get neither.
#[tokio::test(flavor = "multi_thread")]
async fn each_department_hears_of_its_own_escalations() {
    let mut app = spawn_app("esc-live").await;
    departments(&app.store, &["billing", "network", "roaming"]).await;
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let roaming = app
        .staff("roaming1", Role::DepartmentStaff, Some("roaming"), 1)
        .await;
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    let mut ws_billing = connect(&app, &billing).await;
    let mut ws_network = connect(&app, &network).await;
    let mut ws_roaming = connect(&app, &roaming).await;
    let mut ws_saule = connect(&app, &saule).await;

    // The replica's fan-out queue binds as the service starts; until it has, events pass it by
    // (pushes are best effort: the page reads everything again when its socket opens). Escalate
    // to billing until billing's socket hears of one.
    let deadline = tokio::time::Instant::now() + WAIT;
    let esc = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no push reached billing"
        );
        escalate(&app.store, "billing").await;
        if let Some(v) = next_push(&mut ws_billing, Duration::from_secs(2)).await {
            assert_eq!(v["type"], kind::REQUEST_ESCALATED, "{v}");
            assert_eq!(v["departments"], json!(["billing"]));
            // Possibly an earlier one's push, published as the queue bound: take its id.
            break v["escalation_id"]
                .as_str()
                .unwrap()
                .parse::<Uuid>()
                .unwrap();
        }
    };
    push_about(&mut ws_saule, kind::REQUEST_ESCALATED, esc).await;

    // Billing rejects it to network: both departments hear of it, and the supervisor.
    let body = json!({"reason": "Это к сети", "department": "network"});
    act(&app, &billing, esc, "reject", &body).await;
    let v = push_about(&mut ws_billing, kind::ESCALATION_REROUTED, esc).await;
    assert_eq!(v["departments"], json!(["network", "billing"]));
    push_about(&mut ws_network, kind::ESCALATION_REROUTED, esc).await;
    push_about(&mut ws_saule, kind::ESCALATION_REROUTED, esc).await;

    // Roaming's first push is about roaming's own escalation: it heard nothing of billing's.
    let (_, theirs) = escalate(&app.store, "roaming").await;
    let first = next_push(&mut ws_roaming, WAIT)
        .await
        .expect("roaming hears of its escalation");
    assert_eq!(first["type"], kind::REQUEST_ESCALATED, "{first}");
    assert_eq!(first["escalation_id"], theirs.to_string(), "{first}");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Deactivating a department staff member (the workspace's admin API and `komek-admin` write the
/// same change) closes their open socket and refuses a new one.
#[tokio::test(flavor = "multi_thread")]
async fn deactivation_closes_the_socket() {
    let mut app = spawn_app("esc-live-off").await;
    departments(&app.store, &["billing"]).await;
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let mut ws = connect(&app, &billing).await;
    // The replica's fan-out queue binds as the service starts; an event published before passes
    // it by. Until the socket closes, deactivate again (after activating: deactivating someone
    // inactive changes nothing and says nothing).
    let deadline = tokio::time::Instant::now() + WAIT;
    'closed: loop {
        komek_auth::staff::set_active(&app.store, "saule", "billing1", false)
            .await
            .unwrap();
        let round = (tokio::time::Instant::now() + Duration::from_secs(2)).min(deadline);
        loop {
            match tokio::time::timeout_at(round, ws.next()).await {
                Err(_) => break,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break 'closed,
                Ok(Some(Ok(_))) => {}
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket is closed"
        );
        komek_auth::staff::set_active(&app.store, "saule", "billing1", true)
            .await
            .unwrap();
    }
    assert_eq!(handshake(&app, &billing).await, 401);
    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
