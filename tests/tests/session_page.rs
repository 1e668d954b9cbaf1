//! The staff page keeps its session in a real headless Chromium (docs/security.md, "7. Tokens and
//! sessions"): an expired access token is refreshed without the person noticing, and when the
//! session ends elsewhere the page goes to the sign-in form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use komek_e2e::browser::{self, browser, page_token, start_chromedriver, wait_for};
use komek_e2e::{Mesh, MeshOptions};
use reqwest::StatusCode;
use serde_json::json;

/// - aigerim signs in on the workspace's page; her kept access token is swapped for an expired
///   one of the same session (as after a laptop slept through its refresh) and the page reloaded:
///   the page refreshes it and stays signed in, its live socket open, with a new token the API
///   accepts.
/// - Her session is then ended from outside the page (a sign-out with the page's own token): the
///   page's live socket is closed by the server within the check interval, the refresh is refused,
///   and the page shows the sign-in form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_refreshes_its_token_and_leaves_when_the_session_ends() {
    let mesh = Mesh::start(MeshOptions {
        tag: "sessionpage",
        env: vec![("KOMEK__AUTH__LIVE_CHECK_SECS".into(), "1".into())],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&mesh.url("workspace", "/")).await.unwrap();
    browser::sign_in(&c, "aigerim", "komek-agent").await;
    wait_for(&c, "#live-status[data-state='open']").await;

    let key = "komek.session";
    let token = page_token(&c, key).await;
    let tokens = komek_auth::Tokens::new(&mesh.settings.auth);
    let claims = tokens.verify(&token).unwrap();
    let user = komek_store::Store::connect(&mesh.settings.redis)
        .await
        .unwrap()
        .user("aigerim")
        .await
        .unwrap()
        .unwrap();
    let (expired, _) = tokens
        .issue_at(
            &user,
            claims.sid.as_deref().unwrap(),
            time::OffsetDateTime::now_utc() - time::Duration::minutes(30),
        )
        .unwrap();
    let r = mesh
        .get_as(&http, "workspace", "/api/v1/auth/session", &expired)
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the swapped token has expired"
    );
    c.execute(
        "const s = JSON.parse(sessionStorage.getItem(arguments[0]));
         s.token = arguments[1]; s.expiresAt = Date.now() - 60000;
         sessionStorage.setItem(arguments[0], JSON.stringify(s)); location.reload(); return true;",
        vec![json!(key), json!(expired)],
    )
    .await
    .unwrap();
    wait_for(&c, "#app-view:not([hidden])").await;
    wait_for(&c, "#live-status[data-state='open']").await;
    let renewed =
        komek_testkit::eventually(komek_e2e::WAIT, "the page refreshes its token", || {
            let c = &c;
            let expired = &expired;
            async move {
                let now = page_token(c, key).await;
                (now != *expired).then_some(now)
            }
        })
        .await;
    let r = mesh
        .get_as(&http, "workspace", "/api/v1/auth/session", &renewed)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the refreshed token works");
    assert!(
        c.find(fantoccini::Locator::Css("#login-view:not([hidden])"))
            .await
            .is_err(),
        "still signed in"
    );

    // Signed out from elsewhere with the page's own token.
    let out = http
        .post(mesh.url("escalation", "/api/v1/auth/logout"))
        .bearer_auth(&renewed)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    wait_for(&c, "#login-view:not([hidden])").await;
    wait_for(&c, "#app-view[hidden]").await;

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    mesh.finish().await;
}
