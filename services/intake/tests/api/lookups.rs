//! How a customer finds their request, and what a guesser pays (docs/security.md, "1. Public
//! status enumeration"): failed lookups by number + contact are limited per client address, per
//! request number and per contact; the status token given with the acknowledgment opens the
//! request alone, and only its hash is stored.

use komek_settings::Settings;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{IntakeCalls, TestApp, problem, spawn_app, spawn_app_with, submission};

/// Test settings with these failed-lookup limits (per address, per number, per contact), the
/// client address read from X-Forwarded-For when `forwarded` (many clients from one test).
fn limits(tag: &str, address: u64, number: u64, contact: u64, forwarded: bool) -> Settings {
    let mut s = komek_testkit::test_settings(tag);
    s.web.lookup_failures_per_address = address;
    s.web.lookup_failures_per_number = number;
    s.web.lookup_failures_per_contact = contact;
    s.web.trust_forwarded_for = forwarded;
    s
}

/// `GET /api/v1/requests/{number}/public?contact=`, from `from` (X-Forwarded-For) if given.
async fn public_from(
    app: &TestApp,
    number: &str,
    contact: &str,
    from: Option<&str>,
) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(
        &app.url(&format!("/api/v1/requests/{number}/public")),
        &[("contact", contact)],
    )
    .unwrap();
    let mut req = app.http.get(url);
    if let Some(f) = from {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap()
}

async fn by_token(app: &TestApp, token: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/status/{token}"), None).await
}

/// A 429 problem with a Retry-After within the window.
async fn refused(app: &TestApp, resp: reqwest::Response) {
    let secs: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=app.settings.web.rate_window.as_secs()).contains(&secs),
        "{secs}"
    );
    assert_eq!(problem(resp, 429).await["code"], "rate_limited");
}

/// A new request's answer: its number and status token.
async fn created(app: &TestApp, body: &Value) -> (String, String) {
    let resp = app.post_request(body).await;
    assert_eq!(resp.status().as_u16(), 201);
    let v: Value = resp.json().await.unwrap();
    (
        v["number"].as_str().unwrap().to_owned(),
        v["status_token"].as_str().unwrap().to_owned(),
    )
}

/// Someone who knows a customer's phone number walks the request numbers from one address: the
/// first 5 misses are 404, the 6th lookup is 429 with Retry-After (problem+json
/// `rate_limited`), and so is the status page from that address. The customer's status token
/// still opens their request.
#[tokio::test(flavor = "multi_thread")]
async fn walking_numbers_with_a_known_contact_is_refused() {
    let mut app = spawn_app_with(limits("intake-walk", 5, 1000, 1000, false)).await;
    let (_, token) = created(&app, &submission("Нет связи дома")).await;
    let phone = "+77011234567";
    for n in 2..=6 {
        let p = problem(
            public_from(&app, &format!("KM-{n:06}"), phone, None).await,
            404,
        )
        .await;
        assert_eq!(p["code"], "not_found");
    }
    refused(&app, public_from(&app, "KM-000007", phone, None).await).await;
    let url = reqwest::Url::parse_with_params(
        &app.url("/status/view"),
        &[("number", "KM-000008"), ("contact", phone), ("lang", "en")],
    )
    .unwrap();
    let page = app.http.get(url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 429);
    assert!(page.headers().contains_key("retry-after"));

    assert_eq!(by_token(&app, &token).await.status().as_u16(), 200);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The same walk from a new address each time (a botnet) is refused by the contact's limit: 3
/// misses, then 429 whatever the address. Guessing the contact of one request number from many
/// addresses is refused by the number's limit the same way.
#[tokio::test(flavor = "multi_thread")]
async fn many_addresses_are_refused_per_contact_and_per_number() {
    let mut app = spawn_app_with(limits("intake-walk-many", 1000, 3, 3, true)).await;
    let number = app.submitted("Нет связи дома").await;
    for n in 2..=4 {
        let from = format!("203.0.113.{n}");
        let resp = public_from(&app, &format!("KM-{n:06}"), "8 701 123 45 67", Some(&from)).await;
        problem(resp, 404).await;
    }
    let resp = public_from(&app, "KM-000005", "+77011234567", Some("203.0.113.5")).await;
    refused(&app, resp).await;

    for n in 0..3 {
        let contact = format!("+7701555000{n}");
        let from = format!("198.51.100.{n}");
        problem(public_from(&app, &number, &contact, Some(&from)).await, 404).await;
    }
    let resp = public_from(&app, &number, "+77015550009", Some("198.51.100.9")).await;
    refused(&app, resp).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Only failures count: the customer looks at their own request ten times with a limit of 2
/// failures and is answered every time; two misses are still 404 and the third is 429.
#[tokio::test(flavor = "multi_thread")]
async fn the_customer_is_not_held_back_by_looking() {
    let mut app = spawn_app_with(limits("intake-own", 2, 1000, 1000, false)).await;
    let number = app.submitted("Нет связи дома").await;
    for _ in 0..10 {
        let resp = public_from(&app, &number, "87011234567", None).await;
        assert_eq!(resp.status().as_u16(), 200);
    }
    for n in 2..=3 {
        let resp = public_from(&app, &format!("KM-{n:06}"), "87011234567", None).await;
        problem(resp, 404).await;
    }
    refused(
        &app,
        public_from(&app, "KM-000004", "87011234567", None).await,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The acknowledgment carries a status token (43 URL-safe characters, 256 bits) and its page;
/// the token alone opens the same status as number + contact; Redis holds only its SHA-256
/// (`status:{hash}` -> the request id) and no value anywhere holds the token. A retry with the
/// same Idempotency-Key gets a fresh token, and both work.
#[tokio::test(flavor = "multi_thread")]
async fn the_status_token_opens_the_request() {
    let mut app = spawn_app("intake-token").await;
    let resp = app
        .post_request_with_key("retry-1", &submission("Нет связи дома"))
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let first: Value = resp.json().await.unwrap();
    let token = first["status_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        first["status_url"],
        app.settings.web.status_link(&token),
        "{first}"
    );

    let number = first["number"].as_str().unwrap();
    let by_contact: Value = app
        .public_status(number, "+77011234567")
        .await
        .json()
        .await
        .unwrap();
    let resp = by_token(&app, &token).await;
    assert_eq!(resp.status().as_u16(), 200);
    let opened: Value = resp.json().await.unwrap();
    assert_eq!(opened, by_contact);

    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let id = app
        .store
        .get_string(&app.store.keys().status_token(&hash))
        .await
        .unwrap();
    assert_eq!(id.as_deref(), first["id"].as_str());
    for (key, value) in komek_testkit::stored_text(&app.settings).await {
        assert!(!key.contains(&token), "{key} names the token");
        assert!(!value.contains(&token), "{key} holds the token");
    }

    let resp = app
        .post_request_with_key("retry-1", &submission("Нет связи дома"))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let again: Value = resp.json().await.unwrap();
    let fresh = again["status_token"].as_str().unwrap();
    assert_ne!(fresh, token);
    assert_eq!(by_token(&app, fresh).await.status().as_u16(), 200);
    assert_eq!(by_token(&app, &token).await.status().as_u16(), 200);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A wrong token is 404 and counts as a failed lookup of the address: with a limit of 3, the
/// fourth wrong token (API or page) is 429, and so is number + contact from that address; the
/// right token still opens the request.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_404_and_counts() {
    let mut app = spawn_app_with(limits("intake-token-404", 3, 1000, 1000, false)).await;
    let (number, token) = created(&app, &submission("Нет связи дома")).await;
    let made_up = "A".repeat(43);
    for wrong in [made_up.as_str(), "short", &format!("{}B", &token[..42])] {
        assert_eq!(
            problem(by_token(&app, wrong).await, 404).await["code"],
            "not_found"
        );
    }
    refused(&app, by_token(&app, &made_up).await).await;
    let page = app.get(&format!("/status/t/{made_up}"), None).await;
    assert_eq!(page.status().as_u16(), 429);
    refused(&app, public_from(&app, &number, "+77011234567", None).await).await;
    assert_eq!(by_token(&app, &token).await.status().as_u16(), 200);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// `POST /api/v1/requests/{number}/messages?token=`: the token instead of the contact (202); a
/// token of another request is 404, and so is neither (no secret, nothing named); with both the
/// token wins; the contact alone works as before.
#[tokio::test(flavor = "multi_thread")]
async fn messages_take_the_token_or_the_contact() {
    let mut app = spawn_app("intake-token-msg").await;
    let (number, token) = created(&app, &submission("Нет связи дома")).await;
    let (other, _) = created(
        &app,
        &json!({"channel": "web", "customer": {"msisdn": "+77012223344"}, "text": "Роуминг"}),
    )
    .await;
    let post = |number: String, query: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let url = reqwest::Url::parse_with_params(
                &app.url(&format!("/api/v1/requests/{number}/messages")),
                &query,
            )
            .unwrap();
            app.http
                .post(url)
                .json(&json!({"text": "Всё ещё нет связи"}))
                .send()
                .await
                .unwrap()
        }
    };
    let resp = post(number.clone(), vec![("token", token.clone())]).await;
    assert_eq!(resp.status().as_u16(), 202);
    let sent: Value = resp.json().await.unwrap();
    assert_eq!(sent["number"], number.as_str());
    problem(post(other, vec![("token", token.clone())]).await, 404).await;
    let p = problem(post(number.clone(), vec![]).await, 404).await;
    assert_eq!(p["code"], "not_found");
    let both = vec![
        ("token", token.clone()),
        ("contact", "+77019999999".to_owned()),
    ];
    assert_eq!(post(number.clone(), both).await.status().as_u16(), 202);
    let resp = post(number, vec![("contact", "+77011234567".to_owned())]).await;
    assert_eq!(resp.status().as_u16(), 202);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The web form's confirmation gives the status link; it opens the conversation, whose message
/// form names the request by the token (no contact on the page) and comes back to the token's
/// page once sent.
#[tokio::test(flavor = "multi_thread")]
async fn the_confirmation_gives_a_status_link_that_works() {
    let mut app = spawn_app("intake-token-page").await;
    let body = "lang=en&phone=%2B77011234567&text=No+signal+at+home&website=";
    let resp = app
        .http
        .post(app.url("/form"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    let base = app.settings.web.status_link("");
    let at = html
        .find(&base)
        .expect("the status link on the confirmation")
        + base.len();
    let token: String = html[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "{html}");
    assert!(
        html.contains(&format!(r#"href="/status/t/{token}?lang=en""#)),
        "{html}"
    );

    let view = app.get(&format!("/status/t/{token}?lang=en"), None).await;
    assert_eq!(view.status().as_u16(), 200);
    let view = view.text().await.unwrap();
    assert!(view.contains("No signal at home"), "{view}");
    assert!(
        view.contains(&format!(r#"name="token" value="{token}""#)),
        "{view}"
    );
    assert!(!view.contains(r#"name="contact""#), "{view}");

    let number = {
        let at = view.find(r#"id="number">"#).unwrap() + 12;
        view[at..].split('<').next().unwrap().to_owned()
    };
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/status/message"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "lang=en&number={number}&token={token}&text=Still+nothing"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("/status/t/{token}?lang=en&sent=1").as_str()
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Once the survey service has made the survey (`survey:req:{id}` keeps its id), the status
/// shows the survey link derived from that id, on the API and on the page.
#[tokio::test(flavor = "multi_thread")]
async fn the_status_shows_the_derived_survey_link() {
    use komek_domain::{Category, Channel};
    use komek_web::testing::{Fixture, Stage, stored_request};

    let mut app = spawn_app("intake-survey-link").await;
    let r = stored_request(
        &app.store,
        "Нет связи дома",
        Channel::Web,
        Fixture {
            category: Category::Internet,
            stage: Stage::Resolved {
                agent: "daniyar".into(),
                resolution: "Перезагрузили".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    let survey = uuid::Uuid::now_v7();
    let key = app.store.keys().survey_of_request(r.id);
    app.store
        .set_marker(&key, &survey.to_string(), 3600)
        .await
        .unwrap();
    let link = app.settings.survey.link_for(survey);

    let status: Value = app
        .public_status(&r.number.0, "+77011234567")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["survey_url"], link.as_str(), "{status}");
    let url = reqwest::Url::parse_with_params(
        &app.url("/status/view"),
        &[("number", r.number.0.as_str()), ("contact", "+77011234567")],
    )
    .unwrap();
    let page = app
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&link), "{page}");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
