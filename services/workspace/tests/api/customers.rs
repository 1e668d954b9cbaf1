//! Customer 360 over HTTP: from the built-in directory, from a Billing/CRM stand-in that speaks
//! libs/customers/CONTRACT.md, and degraded (never failed) when Billing/CRM is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{App, HttpResponse, HttpServer, web};
use komek_domain::Channel;
use komek_settings::{CustomerSource, HttpUrl};
use komek_web::testing::{Fixture, TestApp, stored_request};
use serde_json::{Value, json};

use crate::helpers::{SignIn, fields, problem, spawn_app};

async fn view(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = app.get(path, Some(token)).await;
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    resp.json().await.unwrap()
}

fn numbers(v: &Value) -> Vec<String> {
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_owned())
        .collect()
}

async fn import(app: &TestApp, token: &str, content_type: &str, body: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/customers/import"))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The workspace starts with the demo customers. An agent opens the customer of a request taken
/// by phone: Asqar's profile, his charges newest first, his services, and both his requests (call
/// centre and SMS), newest first. The same view comes by phone or by his email. A supervisor
/// imports a CSV file (one new customer, one bad line reported); the new customer is found at
/// once. Bad contacts are 422, a wrong content type 415, a bad header 422, agents may not import,
/// department staff may not look, an unknown request is 404.
#[tokio::test(flavor = "multi_thread")]
async fn customer_360_from_the_directory() {
    let mut app = spawn_app("ws-customers").await;
    let agent = app.login("aigerim", "komek-agent").await;
    let supervisor = app.login("saule", "komek-super").await;
    let billing = app.login("billing1", "komek-dept").await;
    let first = stored_request(
        &app.store,
        "Ақша екі рет алынды",
        Channel::CallCenter,
        Fixture::default(),
    )
    .await;
    let second = stored_request(&app.store, "Интернет жоқ", Channel::Sms, Fixture::default()).await;

    let v = view(
        &app,
        &agent,
        &format!("/api/v1/requests/{}/customer", first.id),
    )
    .await;
    assert_eq!(v["source"], "directory");
    assert_eq!(v["degraded"], false);
    assert_eq!(v["profile"]["name"], "Асқар Нұрланұлы");
    assert_eq!(v["profile"]["language"], "kk");
    assert_eq!(v["profile"]["segment"], "mass");
    assert_eq!(v["profile"]["balance_tenge"], 1250);
    let charges = v["charges"].as_array().unwrap();
    assert_eq!(charges.len(), 4);
    assert!(
        charges
            .windows(2)
            .all(|w| w[0]["date"].as_str() >= w[1]["date"].as_str()),
        "newest first"
    );
    assert_eq!(v["services"].as_array().unwrap().len(), 2);
    assert_eq!(
        numbers(&v),
        vec![second.number.0.clone(), first.number.0.clone()]
    );
    assert_eq!(v["requests"][0]["channel"], "sms");
    assert_eq!(v["requests"][0]["snippet"], "Интернет жоқ");
    assert_eq!(v["requests_total"], 2);

    let by_phone = view(
        &app,
        &agent,
        "/api/v1/customers?phone=8%20701%20123%2045%2067",
    )
    .await;
    // The consumer may queue the requests meanwhile: compare what does not change.
    assert_eq!(
        (
            &by_phone["profile"],
            &by_phone["charges"],
            numbers(&by_phone)
        ),
        (&v["profile"], &v["charges"], numbers(&v))
    );
    let by_email = view(
        &app,
        &supervisor,
        "/api/v1/customers?email=askar.nurlanuly@example.kz",
    )
    .await;
    assert_eq!(numbers(&by_email), numbers(&v));

    let report = import(
        &app,
        &supervisor,
        "text/csv; charset=utf-8",
        "msisdn,name,language,region,tariff,segment\n\
         +77019998877,Ержан Әбілов,kk,Aktobe,Komek Smart 15,mass\n\
         12345,Bad,ru,Astana,Smart,\n",
    )
    .await;
    assert_eq!(report.status().as_u16(), 200);
    let report: Value = report.json().await.unwrap();
    assert_eq!(
        (
            &report["added"],
            &report["updated"],
            &report["rejected"][0]["line"]
        ),
        (&json!(1), &json!(0), &json!(3))
    );
    // A file bigger than the JSON body limit (64 KiB): 2000 customers.
    let big: String = std::iter::once("msisdn,name,language,region,tariff\n".to_owned())
        .chain((0..2000).map(|i| format!("+7700{i:07},Customer {i},ru,Almaty,Komek Smart 15\n")))
        .collect();
    assert!(big.len() > 65536);
    let started = std::time::Instant::now();
    let resp = import(&app, &supervisor, "text/csv", &big).await;
    assert_eq!(resp.status().as_u16(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(
        (&report["added"], &report["rejected"]),
        (&json!(2000), &json!([]))
    );
    eprintln!("imported 2000 customers in {:?}", started.elapsed());
    let new = view(&app, &agent, "/api/v1/customers?phone=%2B77019998877").await;
    assert_eq!(new["profile"]["region"], "Aktobe");
    assert_eq!(new["requests"], json!([]));

    let p = problem(
        app.get("/api/v1/customers?phone=123&email=nope", Some(&agent))
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["phone", "email"]);
    problem(app.get("/api/v1/customers", Some(&agent)).await, 422).await;
    let p = problem(
        import(&app, &supervisor, "application/json", "{}").await,
        415,
    )
    .await;
    assert_eq!(
        (&p["code"], &p["detail"]),
        (
            &json!("unsupported_media_type"),
            &json!("the request body must be text/csv (UTF-8)")
        )
    );
    let p = problem(
        import(
            &app,
            &supervisor,
            "text/csv",
            "phone,name\n+77011234567,A\n",
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["header"]);
    problem(import(&app, &agent, "text/csv", "msisdn\n").await, 403).await;
    problem(
        app.get(
            &format!("/api/v1/requests/{}/customer", first.id),
            Some(&billing),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.get(&format!("/api/v1/requests/{}/customer", first.id), None)
            .await,
        401,
    )
    .await;
    problem(
        app.get(
            "/api/v1/requests/00000000-0000-7000-8000-000000000000/customer",
            Some(&agent),
        )
        .await,
        404,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A Billing/CRM stand-in knowing one customer (`+77011234567`), counting its calls.
async fn start_crm(calls: Arc<AtomicUsize>) -> (String, actix_web::dev::ServerHandle) {
    async fn customer(
        calls: web::Data<Arc<AtomicUsize>>,
        msisdn: web::Path<String>,
    ) -> HttpResponse {
        calls.fetch_add(1, Ordering::SeqCst);
        if msisdn.as_str() != "+77011234567" {
            return HttpResponse::NotFound().finish();
        }
        HttpResponse::Ok().json(json!({
            "profile": {"msisdn": "+77011234567", "name": "Asqar (CRM)", "language": "kk",
                        "segment": "vip", "region": "Almaty", "tariff": "Komek Unlimited",
                        "balance_tenge": 10},
            "charges": [{"date": "2026-03-03", "amount_tenge": 2990, "description": "Fee"}],
            "payments": [],
            "services": []
        }))
    }
    let data = web::Data::new(calls);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/customers/{msisdn}", web::get().to(customer))
    })
    .workers(1)
    // No connection outlives its request: once stopped, the stand-in answers nothing at all (a
    // pooled connection could still reach a worker that has not yet wound down).
    .keep_alive(actix_web::http::KeepAlive::Disabled)
    .shutdown_timeout(0)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

/// With `customers.source = "http"` the view comes from Billing/CRM (a second look is cached).
/// Then Billing/CRM goes away: the view of a customer not in the cache still answers 200 with
/// their requests, no profile and `degraded: true`, and after two failures the breaker answers
/// for it at once; the cached customer is still shown whole. The directory import is refused (409).
#[tokio::test(flavor = "multi_thread")]
async fn customer_360_over_http_and_degraded_when_down() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (url, crm) = start_crm(calls.clone()).await;
    let mut settings = komek_testkit::test_settings("ws-customers-http");
    settings.customers.source = CustomerSource::Http {
        base_url: HttpUrl::parse(&url, &["http"]).unwrap(),
    };
    settings.customers.timeout = std::time::Duration::from_secs(1);
    settings.customers.breaker_failures = 2;
    settings.customers.breaker_cooldown = std::time::Duration::from_secs(600);
    let mut app = komek_web::testing::spawn(settings, komek_workspace::startup::build).await;
    let agent = app.login("aigerim", "komek-agent").await;
    let supervisor = app.login("saule", "komek-super").await;
    let asqar = stored_request(
        &app.store,
        "Ақша екі рет алынды",
        Channel::Web,
        Fixture::default(),
    )
    .await;
    let john = stored_request(
        &app.store,
        "Roaming does not work",
        Channel::Web,
        Fixture {
            msisdn: "+77771234567",
            ..Fixture::default()
        },
    )
    .await;

    let path = format!("/api/v1/requests/{}/customer", asqar.id);
    let v = view(&app, &agent, &path).await;
    assert_eq!(
        (&v["source"], &v["degraded"]),
        (&json!("http"), &json!(false))
    );
    assert_eq!(v["profile"]["name"], "Asqar (CRM)");
    assert_eq!(numbers(&v), vec![asqar.number.0.clone()]);
    let again = view(&app, &agent, &path).await;
    assert_eq!(
        (&again["profile"], &again["source"]),
        (&v["profile"], &v["source"])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the second look is cached");

    crm.stop(false).await;
    let crm_addr = url.trim_start_matches("http://").to_owned();
    komek_testkit::eventually(
        std::time::Duration::from_secs(10),
        "Billing/CRM refuses connections",
        || {
            let addr = crm_addr.clone();
            async move { tokio::net::TcpStream::connect(addr).await.err().map(|_| ()) }
        },
    )
    .await;
    let john_path = format!("/api/v1/requests/{}/customer", john.id);
    for _ in 0..3 {
        let down = view(&app, &agent, &john_path).await;
        assert_eq!(down["degraded"], true);
        assert_eq!(down["source"], "none");
        assert!(down.get("profile").is_none());
        assert_eq!(numbers(&down), vec![john.number.0.clone()]);
    }
    let open = view(&app, &agent, &john_path).await;
    assert!(
        open["degraded_reason"]
            .as_str()
            .unwrap()
            .contains("circuit breaker open"),
        "{open}"
    );
    let cached = view(&app, &agent, &path).await;
    assert_eq!(
        (&cached["profile"], &cached["degraded"]),
        (&v["profile"], &json!(false)),
        "the cache still answers"
    );

    let p = problem(import(&app, &supervisor, "text/csv", "msisdn\n").await, 409).await;
    assert_eq!(p["code"], "external_source");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
