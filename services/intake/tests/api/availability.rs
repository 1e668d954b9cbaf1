//! Intake without its Redis: it says so (503 with Retry-After) instead of failing obscurely, and
//! recovers by itself when Redis is back.

use std::net::SocketAddr;

use crate::helpers::{IntakeCalls, WAIT, problem, spawn_app_with, submission};

/// Intake reaches Redis through a proxy. The proxy is cut: a submission gets 503 problem+json
/// with a Retry-After header (the connection manager notices the cut on the next command, so the
/// test polls until the 503 shows). The proxy is restored: submissions are accepted again (201).
#[tokio::test(flavor = "multi_thread")]
async fn redis_down_is_503_with_retry_after_and_recovers() {
    let mut settings = komek_testkit::test_settings("intake-redis-down");
    let redis: SocketAddr = "127.0.0.1:6379".parse().unwrap();
    let proxy = komek_testkit::proxy::TcpProxy::start(redis).await;
    settings.redis.url = format!("redis://{}/", proxy.addr).into();
    let mut app = spawn_app_with(settings).await;
    let body = submission("Не работает интернет");
    assert_eq!(app.post_request(&body).await.status().as_u16(), 201);

    proxy.cut();
    let resp = komek_testkit::eventually(WAIT, "intake answers 503 while Redis is away", || {
        let (http, url, body) = (app.http.clone(), app.url("/api/v1/requests"), body.clone());
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16() == 503).then_some(r)
        }
    })
    .await;
    let retry_after = resp
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let p = problem(resp, 503).await;
    assert_eq!(p["code"], "unavailable");
    let secs: u64 = retry_after
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!(secs > 0);

    proxy.restore();
    komek_testkit::eventually(WAIT, "intake accepts again once Redis is back", || {
        let (http, url, body) = (app.http.clone(), app.url("/api/v1/requests"), body.clone());
        async move {
            (http
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
                == 201)
                .then_some(())
        }
    })
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
