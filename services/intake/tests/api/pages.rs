//! The customer's web pages (request form, confirmation, status page, message form), the
//! anti-spam rules (honeypot, rate limits per address and per contact) and
//! `POST /api/v1/requests/{number}/messages`.

use std::time::Duration;

use komek_domain::events::{CustomerMessage, Envelope, kind};
use komek_domain::{Channel, Lang, Status};
use komek_settings::Settings;
use komek_store::requests::Mutation;
use serde_json::{Value, json};

use crate::helpers::{IntakeCalls, TestApp, problem, spawn_app, spawn_app_with, submission};

/// An `application/x-www-form-urlencoded` body, as a browser sends it.
fn form(pairs: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params("http://form.invalid/", pairs)
        .unwrap()
        .query()
        .unwrap_or("")
        .to_owned()
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post_form(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    post_form_from(app, path, pairs, None).await
}

async fn post_form_from(
    app: &TestApp,
    path: &str,
    pairs: &[(&str, &str)],
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut req = no_redirects()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap()
}

async fn page(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    resp.text().await.unwrap()
}

async fn get_page(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&app.url(path), pairs).unwrap();
    app.http.get(url).send().await.unwrap()
}

/// The number the confirmation page shows.
fn confirmed_number(html: &str) -> String {
    let at = html.find(r#"id="number">"#).expect("a number on the page") + 12;
    html[at..].split('<').next().unwrap().to_owned()
}

async fn nothing_numbered(app: &TestApp) {
    let seq = app.store.keys().number_seq();
    assert_eq!(
        app.store.get_string(&seq).await.unwrap(),
        None,
        "no request was numbered"
    );
}

/// The form is served in the language asked for (`?lang=`), else the browser's
/// (Accept-Language), else Kazakh; with a strict Content-Security-Policy (nothing inline, nothing
/// from elsewhere) and its stylesheet from the same origin.
#[tokio::test(flavor = "multi_thread")]
async fn form_in_the_customers_language_under_a_strict_policy() {
    let mut app = spawn_app("intake-pages-lang").await;
    for (query, accept, title) in [
        ("/?lang=ru", None, "Оставить обращение"),
        ("/", Some("en-GB,en;q=0.9,ru;q=0.5"), "Make a request"),
        ("/", None, "Өтініш қалдыру"),
        ("/?lang=en", Some("ru"), "Make a request"),
    ] {
        let mut req = app.http.get(app.url(query));
        if let Some(a) = accept {
            req = req.header("accept-language", a);
        }
        let resp = req.send().await.unwrap();
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("form-action 'self'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        let html = page(resp, 200).await;
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{query}: {html}"
        );
        assert!(html.contains(r#"name="website""#), "the honeypot field");
        assert!(html.contains(r#"<form method="post" action="/form""#));
        assert!(!html.contains("<script"));
    }
    let css = app.get("/web.css", None).await;
    assert_eq!(css.status().as_u16(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A form with a bad phone number, no text and a name with a script tag: 422, the form again in
/// English with a message next to each bad field, the values kept (the name escaped, never
/// markup), and nothing stored. No phone and no email: the contact message.
#[tokio::test(flavor = "multi_thread")]
async fn bad_form_is_shown_again_with_messages_and_values() {
    let mut app = spawn_app("intake-pages-invalid").await;
    let name = r#""><script>alert('x')</script>"#;
    let html = page(
        post_form(
            &app,
            "/form",
            &[
                ("lang", "en"),
                ("name", name),
                ("phone", "12-34"),
                ("email", ""),
                ("text", "   "),
                ("website", ""),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(
        html.contains(r#"id="phone-error">This phone number is not valid."#),
        "{html}"
    );
    assert!(
        html.contains(r#"id="text-error">Please write your request.</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"id="phone" name="phone""#));
    assert!(
        html.contains(r#"value="12-34" aria-invalid="true""#),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        // Escaped by the template engine (askama writes numeric character references).
        html.contains(r#"value="&#34;&#62;&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;""#),
        "{html}"
    );

    let html = page(
        post_form(
            &app,
            "/form",
            &[("lang", "ru"), ("text", "Нет связи"), ("website", "")],
        )
        .await,
        422,
    )
    .await;
    assert!(
        html.contains(r#"id="contact-error">Укажите номер телефона или электронную почту."#),
        "{html}"
    );
    assert!(
        html.contains("\nНет связи</textarea>"),
        "the text is kept: {html}"
    );

    nothing_numbered(&app).await;
    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A customer writes in Kazakh with a script tag in their name and text. The confirmation shows
/// the number and the resolution deadline in Kazakhstan time; the request is stored as from the
/// web, in Kazakh. Sending the same form again (a double click) gives the same number. The status
/// page shows the text escaped, never as markup.
#[tokio::test(flavor = "multi_thread")]
async fn form_accepts_confirms_and_escapes() {
    let mut app = spawn_app("intake-pages-accept").await;
    let form_id = uuid::Uuid::new_v4().to_string();
    let text = "Интернет жұмыс істемейді <script>alert(1)</script>";
    let fields = [
        ("lang", "kk"),
        ("form_id", form_id.as_str()),
        ("name", "<b>Асқар</b>"),
        ("phone", "8 701 123 45 67"),
        ("email", ""),
        ("text", text),
        ("website", ""),
    ];
    let html = page(post_form(&app, "/form", &fields).await, 200).await;
    assert!(html.contains("Өтінішіңіз қабылданды"), "{html}");
    let number = confirmed_number(&html);
    assert!(number.starts_with("KM-"), "{number}");
    let r = app.store.request_by_number(&number).await.unwrap().unwrap();
    assert_eq!(r.channel, Channel::Web);
    assert_eq!(r.language, Lang::Kk);
    assert_eq!(r.text, text);
    assert_eq!(r.customer.name.as_deref(), Some("<b>Асқар</b>"));
    assert_eq!(r.customer.msisdn.as_ref().unwrap().as_str(), "+77011234567");
    let due = komek_domain::ack::format_local(r.due.resolution);
    assert!(
        html.contains(&format!(r#"<span id="due">{due}</span>"#)),
        "{html}"
    );

    let again = page(post_form(&app, "/form", &fields).await, 200).await;
    assert_eq!(
        confirmed_number(&again),
        number,
        "a double click makes no second request"
    );

    let view = page(
        get_page(
            &app,
            "/status/view",
            &[
                ("number", number.as_str()),
                ("contact", "+77011234567"),
                ("lang", "kk"),
            ],
        )
        .await,
        200,
    )
    .await;
    assert!(
        view.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{view}"
    );
    assert!(!view.contains("<script"), "{view}");
    assert!(!view.contains("<b>"), "{view}");
    assert!(
        view.contains("Сіздің өтінішіңіз қабылданды"),
        "the acknowledgment: {view}"
    );
    assert!(
        view.contains(r#"<dd id="status">Қабылданды</dd>"#),
        "{view}"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A robot fills in the hidden `website` field: it gets a 200 page that looks like success, and
/// nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn honeypot_pretends_success_and_stores_nothing() {
    let mut app = spawn_app("intake-pages-honeypot").await;
    let html = page(
        post_form(
            &app,
            "/form",
            &[
                ("lang", "en"),
                ("name", "Best Offers"),
                ("phone", "+77011234567"),
                ("text", "Cheap pills at http://spam.example"),
                ("website", "http://spam.example"),
            ],
        )
        .await,
        200,
    )
    .await;
    assert!(html.contains("Your request has been received"), "{html}");
    assert!(!html.contains("KM-"), "{html}");
    nothing_numbered(&app).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

fn limited(tag: &str, per_address: u64, per_contact: u64, trust_forwarded_for: bool) -> Settings {
    let mut s = komek_testkit::test_settings(tag);
    s.web.per_address = per_address;
    s.web.per_contact = per_contact;
    s.web.trust_forwarded_for = trust_forwarded_for;
    s
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// With 2 requests per contact and 4 form posts per address: the JSON API takes two requests
/// from one phone number and answers the third with 429 problem+json (code `rate_limited`,
/// Retry-After); the form refuses that phone number too (429 page). Three more form posts with
/// other contacts are accepted, the fifth post from this address is refused, and an
/// X-Forwarded-For header does not help while `web.trust_forwarded_for` is off.
#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_per_contact_and_per_address() {
    let mut app = spawn_app_with(limited("intake-pages-limits", 4, 2, false)).await;
    for _ in 0..2 {
        assert_eq!(
            app.post_request(&submission("Нет связи"))
                .await
                .status()
                .as_u16(),
            201
        );
    }
    let resp = app.post_request(&submission("Нет связи")).await;
    let secs = retry_after(&resp);
    assert!(
        (1..=app.settings.web.rate_window.as_secs()).contains(&secs),
        "{secs}"
    );
    let p = problem(resp, 429).await;
    assert_eq!(p["code"], "rate_limited");

    let post = |phone: &'static str| {
        [
            ("lang", "ru"),
            ("phone", phone),
            ("text", "Нет связи"),
            ("website", ""),
        ]
    };
    let resp = post_form(&app, "/form", &post("+77011234567")).await;
    assert!(retry_after(&resp) >= 1);
    let html = page(resp, 429).await;
    assert!(html.contains("Слишком много попыток"), "{html}");
    for phone in ["+77011110001", "+77011110002", "+77011110003"] {
        page(post_form(&app, "/form", &post(phone)).await, 200).await;
    }
    let resp = post_form_from(&app, "/form", &post("+77011110004"), Some("203.0.113.9")).await;
    page(resp, 429).await;
    assert!(
        app.store
            .request_by_number("KM-000006")
            .await
            .unwrap()
            .is_none(),
        "five requests in all: two by the API, three by the form"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Behind a trusted proxy (`web.trust_forwarded_for`), the last X-Forwarded-For address is the
/// client's: one post per address, so a second post from 203.0.113.7 is refused while one from
/// 203.0.113.8 (same connection peer) is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_counts_when_trusted() {
    let mut app = spawn_app_with(limited("intake-pages-xff", 1, 10, true)).await;
    let post = |phone: &'static str| [("lang", "en"), ("phone", phone), ("text", "No signal")];
    page(
        post_form_from(
            &app,
            "/form",
            &post("+77011110001"),
            Some("198.51.100.1, 203.0.113.7"),
        )
        .await,
        200,
    )
    .await;
    page(
        post_form_from(&app, "/form", &post("+77011110002"), Some("203.0.113.7")).await,
        429,
    )
    .await;
    page(
        post_form_from(&app, "/form", &post("+77011110003"), Some("203.0.113.8")).await,
        200,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A wrong contact looks exactly like an unknown number on the status page (404, the same page
/// but for the number typed), in the message form's answer, and on the JSON endpoint (the same
/// bytes as the public status's 404).
#[tokio::test(flavor = "multi_thread")]
async fn status_page_hides_which_numbers_exist() {
    let mut app = spawn_app("intake-pages-404").await;
    let number = app.submitted("Нет связи дома").await;
    let wrong = "+77019999999";

    let view = |number: String| {
        let app = &app;
        async move {
            page(
                get_page(
                    app,
                    "/status/view",
                    &[
                        ("number", number.as_str()),
                        ("contact", wrong),
                        ("lang", "ru"),
                    ],
                )
                .await,
                404,
            )
            .await
            .replace(&number, "NUMBER")
        }
    };
    let wrong_contact = view(number.clone()).await;
    let unknown = view("KM-999999".into()).await;
    assert_eq!(wrong_contact, unknown);
    assert!(unknown.contains("Обращение не найдено"), "{unknown}");
    assert!(!unknown.contains("Нет связи дома"));

    let message = |number: String| {
        let app = &app;
        async move {
            page(
                post_form(
                    app,
                    "/status/message",
                    &[
                        ("lang", "ru"),
                        ("number", number.as_str()),
                        ("contact", wrong),
                        ("text", "Алло?"),
                    ],
                )
                .await,
                404,
            )
            .await
            .replace(&number, "NUMBER")
        }
    };
    assert_eq!(message(number.clone()).await, wrong_contact);
    assert_eq!(message("KM-999999".into()).await, wrong_contact);

    let api = |number: String| {
        let app = &app;
        async move {
            let url = reqwest::Url::parse_with_params(
                &app.url(&format!("/api/v1/requests/{number}/messages")),
                &[("contact", wrong)],
            )
            .unwrap();
            let resp = app
                .http
                .post(url)
                .json(&json!({"text": "Алло?"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 404);
            resp.bytes().await.unwrap()
        }
    };
    let a = api(number.clone()).await;
    assert_eq!(a, api("KM-999999".into()).await);
    let public = app
        .public_status("KM-999999", wrong)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(a, public, "the same 404 as the public status");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// intake with a broker it cannot reach: its relay never takes events from the outbox, so the
/// test reads them there.
async fn spawn_without_broker(tag: &str, per_contact: u64) -> TestApp {
    let mut s = limited(tag, 30, per_contact, false);
    s.amqp.url = "amqp://guest:guest@127.0.0.1:1/%2f".to_owned().into();
    spawn_app_with(s).await
}

async fn cleanup_without_broker(app: &mut TestApp) {
    app.stop().await;
    let mut s = app.settings.clone();
    s.amqp.url = komek_testkit::test_settings("x").amqp.url;
    komek_testkit::cleanup(&s).await;
}

/// The customer messages in the outbox, oldest first.
async fn customer_messages(app: &TestApp) -> Vec<(Envelope, CustomerMessage)> {
    app.store.ensure_relay_group().await.unwrap();
    let mut conn = app
        .store
        .dedicated(Duration::from_millis(100))
        .await
        .unwrap();
    let mut out = Vec::new();
    loop {
        let entries = app
            .store
            .read_outbox(&mut conn, "test", 100, 50)
            .await
            .unwrap();
        if entries.is_empty() {
            return out;
        }
        for e in entries {
            if e.kind == kind::REQUEST_CUSTOMER_MESSAGE {
                let env = Envelope::decode(&e.event).unwrap();
                let p: CustomerMessage = env.payload().unwrap();
                out.push((env, p));
            }
        }
    }
}

/// `POST /api/v1/requests/{number}/messages?contact=`: 202, and the outbox holds
/// `request.customer_message` for the workspace (intake changes nothing in the request itself).
/// An empty text is a 422 naming `text`, a closed request a 409, a third message within the
/// window (2 per contact) a 429. The status page's message form sends the same event and
/// redirects (303) to the status page, which says the message was sent.
#[tokio::test(flavor = "multi_thread")]
async fn customer_messages_go_to_the_outbox() {
    let mut app = spawn_without_broker("intake-pages-msg", 2).await;
    let number = app.submitted("Нет связи дома").await;
    let api = |text: &'static str| {
        let (app, number) = (&app, number.clone());
        async move {
            let url = reqwest::Url::parse_with_params(
                &app.url(&format!("/api/v1/requests/{number}/messages")),
                &[("contact", "8 701 123 45 67")],
            )
            .unwrap();
            app.http
                .post(url)
                .json(&json!({ "text": text }))
                .send()
                .await
                .unwrap()
        }
    };
    let resp = api("Связь так и не появилась").await;
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["number"], number.as_str());
    assert_eq!(body["text"], "Связь так и не появилась");

    let p = problem(api("  ").await, 422).await;
    assert_eq!(crate::helpers::fields(&p), ["text"]);

    let resp = post_form(
        &app,
        "/status/message",
        &[
            ("lang", "ru"),
            ("number", &number.to_lowercase()),
            ("contact", "+77011234567"),
            ("text", "И интернета нет <script>x</script>"),
        ],
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/status/view?"), "{location}");
    assert!(location.contains("sent=1"), "{location}");
    let view = page(app.get(&location, None).await, 200).await;
    assert!(view.contains("Ваше сообщение отправлено"), "{view}");

    let p = problem(api("Третье сообщение").await, 429).await;
    assert_eq!(p["code"], "rate_limited");

    let sent = customer_messages(&app).await;
    let texts: Vec<&str> = sent.iter().map(|(_, p)| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Связь так и не появилась",
            "И интернета нет <script>x</script>"
        ]
    );
    let r = app.store.request_by_number(&number).await.unwrap().unwrap();
    for (env, p) in &sent {
        assert_eq!(env.request_id, r.id);
        assert_eq!(p.number, r.number);
        assert_eq!(p.channel, Channel::Web);
    }
    assert_eq!(
        r.messages.len(),
        1,
        "intake leaves the request to the workspace"
    );
    assert_eq!(r.version, 1);

    // Closed: 409 from the API, and the status page has no message form.
    app.store
        .update_request(r.id, None, |r| {
            r.status = Status::Closed;
            Ok::<_, komek_web::ApiError>(Mutation {
                change: komek_domain::Request::record("test", "closed", None, r.created_at),
                event: None,
                ops: vec![],
            })
        })
        .await
        .unwrap();
    let p = problem(api("Ещё раз").await, 409).await;
    assert_eq!(p["code"], "request_closed");
    let resp = post_form(
        &app,
        "/status/message",
        &[
            ("lang", "en"),
            ("number", &number),
            ("contact", "+77011234567"),
            ("text", "Hello?"),
        ],
    )
    .await;
    let html = page(resp, 409).await;
    assert!(html.contains("This request is closed"), "{html}");
    assert!(!html.contains(r#"action="/status/message""#), "{html}");

    cleanup_without_broker(&mut app).await;
}

/// The staff pages' catalogue is served by every service; intake's is the same catalogue its own
/// pages are rendered from, placeables kept for the browser, and an unknown language is a 404
/// problem+json.
#[tokio::test(flavor = "multi_thread")]
async fn the_text_catalogue_is_served_as_json() {
    let mut app = spawn_app("i18n-json").await;
    let res = app.get("/i18n/ru.json", None).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("etag").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["web-form-title"], "Оставить обращение");
    assert_eq!(
        body["survey-intro"],
        "Оцените, пожалуйста, качество обслуживания по обращению { $number }."
    );
    let p = problem(app.get("/i18n/de.json", None).await, 404).await;
    assert_eq!(p["code"], "not_found");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
