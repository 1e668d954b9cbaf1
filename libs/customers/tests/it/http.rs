//! The HTTP adapter against a Billing/CRM stand-in started inside the test (actix-web on port 0)
//! that speaks CONTRACT.md and counts the calls it gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use komek_customers::breaker::BreakerState;
use komek_customers::{Contact, CustomerSource, HttpConfig, HttpSource, SourceError};
use komek_store::Store;
use redis::AsyncCommands;
use serde_json::json;

use crate::helpers::{cleanup, store};

/// How the stand-in answers.
pub const OK: u8 = 0;
/// 500 to every call.
pub const FAIL: u8 = 1;
/// Never answers.
pub const HANG: u8 = 2;
/// 200 with someone else's profile.
pub const WRONG: u8 = 3;

/// A Billing/CRM stand-in knowing one customer, `+77011234567` / `askar@example.kz`.
#[derive(Clone, Default)]
pub struct Crm {
    pub calls: Arc<AtomicUsize>,
    pub mode: Arc<AtomicU8>,
}

pub fn askar() -> serde_json::Value {
    json!({
        "profile": {
            "msisdn": "+77011234567", "email": "askar@example.kz", "name": "Асқар Нұрланұлы",
            "language": "kk", "segment": "vip", "region": "Almaty", "tariff": "Komek Unlimited",
            "balance_tenge": -340
        },
        "charges": [
            {"date": "2026-03-01", "amount_tenge": 2990, "description": "Айлық төлем"},
            {"date": "2026-03-03", "amount_tenge": 2990, "description": "Айлық төлем"}
        ],
        "payments": [{"date": "2026-02-25", "amount_tenge": 5000, "description": "Kaspi"}],
        "services": [{"code": "unlimited", "name": "Komek Unlimited", "since": "2024-02-01", "monthly_fee_tenge": 2990}],
        "billing_account": "ignored: unknown fields are allowed"
    })
}

async fn answer(crm: &Crm, known: bool) -> HttpResponse {
    crm.calls.fetch_add(1, Ordering::SeqCst);
    match crm.mode.load(Ordering::SeqCst) {
        FAIL => HttpResponse::InternalServerError().body("down"),
        HANG => std::future::pending::<HttpResponse>().await,
        WRONG => {
            let mut other = askar();
            other["profile"]["msisdn"] = json!("+77051112233");
            HttpResponse::Ok().json(other)
        }
        _ if known => HttpResponse::Ok().json(askar()),
        _ => HttpResponse::NotFound().json(json!({"error": "no such customer"})),
    }
}

async fn by_msisdn(crm: web::Data<Crm>, msisdn: web::Path<String>) -> HttpResponse {
    answer(&crm, msisdn.as_str() == "+77011234567").await
}

#[derive(serde::Deserialize)]
struct ByEmail {
    email: String,
}

async fn by_email(crm: web::Data<Crm>, q: web::Query<ByEmail>) -> HttpResponse {
    answer(&crm, q.email == "askar@example.kz").await
}

/// Starts the stand-in; returns its base URL (with a path prefix, as a gateway would have it),
/// its state, and the handle that stops it.
pub async fn start_crm() -> (String, Crm, actix_web::dev::ServerHandle) {
    let crm = Crm::default();
    let data = web::Data::new(crm.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).service(
            web::scope("/crm/v1")
                .route("/customers", web::get().to(by_email))
                .route("/customers/{msisdn}", web::get().to(by_msisdn)),
        )
    })
    .workers(1)
    .shutdown_timeout(0)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/crm/v1/"), crm, handle)
}

fn config(base_url: &str) -> HttpConfig {
    HttpConfig {
        base_url: base_url.to_owned(),
        timeout: Duration::from_millis(400),
        cache_ttl: Duration::from_secs(60),
        breaker_failures: 3,
        breaker_cooldown: Duration::from_millis(500),
    }
}

fn contact(raw: &str) -> Contact {
    Contact::parse(raw).unwrap()
}

async fn ttl(store: &Store, contact: &str) -> i64 {
    let mut c = store.conn();
    c.ttl(store.keys().customer_cache(contact)).await.unwrap()
}

/// A lookup by phone reaches Billing/CRM once; the second is served from the Redis cache (the
/// stand-in counts one call) with the configured TTL. By email it asks `?email=`. An unknown
/// customer is a 404, `None`, and cached too.
#[tokio::test(flavor = "multi_thread")]
async fn a_hit_is_cached_with_its_ttl() {
    let (store, settings) = store("cust-http-hit").await;
    let (url, crm, server) = start_crm().await;
    let source = HttpSource::new(config(&url), store.clone());

    let c = source
        .lookup(&contact("8 701 123 45 67"))
        .await
        .unwrap()
        .expect("a customer");
    assert_eq!(c.profile.name, "Асқар Нұрланұлы");
    assert_eq!(
        (c.charges.len(), c.services[0].monthly_fee_tenge),
        (2, 2990)
    );
    assert_eq!(crm.calls.load(Ordering::SeqCst), 1);
    let again = source.lookup(&contact("+77011234567")).await.unwrap();
    assert_eq!(again, Some(c.clone()));
    assert_eq!(crm.calls.load(Ordering::SeqCst), 1, "served from the cache");
    let left = ttl(&store, "+77011234567").await;
    assert!((1..=60).contains(&left), "ttl {left}");

    let by_mail = source.lookup(&contact("ASKAR@example.kz")).await.unwrap();
    assert_eq!(by_mail, Some(c));
    assert_eq!(crm.calls.load(Ordering::SeqCst), 2);

    assert_eq!(source.lookup(&contact("+77051112233")).await.unwrap(), None);
    assert_eq!(source.lookup(&contact("+77051112233")).await.unwrap(), None);
    assert_eq!(crm.calls.load(Ordering::SeqCst), 3, "a 404 is cached too");
    assert_eq!(source.breaker_state(), BreakerState::Closed);

    server.stop(false).await;
    cleanup(&settings).await;
}

/// A Billing/CRM that does not answer is given up after the timeout (well before the test's own
/// patience), and an answer about another customer is refused as a contract breach.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_or_wrong_answer_fails_in_time() {
    let (store, settings) = store("cust-http-timeout").await;
    let (url, crm, server) = start_crm().await;
    let source = HttpSource::new(config(&url), store.clone());

    crm.mode.store(HANG, Ordering::SeqCst);
    let started = Instant::now();
    let err = source.lookup(&contact("+77011234567")).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, SourceError::Unavailable(m) if m == "timed out"),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );

    crm.mode.store(WRONG, Ordering::SeqCst);
    let err = source.lookup(&contact("+77011234567")).await.unwrap_err();
    assert!(matches!(err, SourceError::Contract(_)), "{err:?}");
    let mut c = store.conn();
    let cached: bool = c
        .exists(store.keys().customer_cache("+77011234567"))
        .await
        .unwrap();
    assert!(!cached, "failures are not cached");

    server.stop(false).await;
    cleanup(&settings).await;
}

/// Three failures in a row open the breaker: the fourth lookup fails at once without calling.
/// Once Billing/CRM is back and the cooldown has passed, one trial call goes through and closes
/// it. A cached customer is still served while the breaker is open.
#[tokio::test(flavor = "multi_thread")]
async fn the_breaker_opens_after_failures_and_closes_after_the_cooldown() {
    let (store, settings) = store("cust-http-breaker").await;
    let (url, crm, server) = start_crm().await;
    let source = HttpSource::new(config(&url), store.clone());
    let calls = || crm.calls.load(Ordering::SeqCst);

    // Asqar by email gets cached while all is well.
    assert!(
        source
            .lookup(&contact("askar@example.kz"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(calls(), 1);

    crm.mode.store(FAIL, Ordering::SeqCst);
    for n in 1..=3 {
        let err = source.lookup(&contact("+77011234567")).await.unwrap_err();
        assert!(
            matches!(&err, SourceError::Unavailable(m) if m.contains("500")),
            "{err:?}"
        );
        assert_eq!(calls(), 1 + n);
    }
    assert_eq!(source.breaker_state(), BreakerState::Open);
    let started = Instant::now();
    let err = source.lookup(&contact("+77011234567")).await.unwrap_err();
    assert!(matches!(err, SourceError::BreakerOpen), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(200), "fails fast");
    assert_eq!(calls(), 4, "no call while open");
    assert!(
        source
            .lookup(&contact("askar@example.kz"))
            .await
            .unwrap()
            .is_some(),
        "the cache still answers"
    );

    crm.mode.store(OK, Ordering::SeqCst);
    let found = komek_testkit::eventually(
        Duration::from_secs(10),
        "the breaker lets a trial through after its cooldown",
        || {
            let source = source.clone();
            async move {
                match source.lookup(&contact("+77011234567")).await {
                    Ok(found) => Some(found),
                    Err(SourceError::BreakerOpen) => None,
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
        },
    )
    .await;
    assert!(found.is_some());
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "not before the cooldown"
    );
    assert_eq!(calls(), 5, "exactly one trial call");
    assert_eq!(source.breaker_state(), BreakerState::Closed);

    server.stop(false).await;
    cleanup(&settings).await;
}

/// Nothing listening at the base URL: a failure (refused connection), not a hang.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_crm_is_a_failure() {
    let (store, settings) = store("cust-http-down").await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let source = HttpSource::new(config(&format!("http://127.0.0.1:{port}")), store.clone());
    let err = source.lookup(&contact("+77011234567")).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Unavailable(m) if m == "cannot connect"),
        "{err:?}"
    );
    cleanup(&settings).await;
}
