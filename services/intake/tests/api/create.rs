//! `POST /api/v1/requests`: acceptance, language detection, idempotency and body validation.

use serde_json::{Value, json};

use crate::helpers::{IntakeCalls, fields, problem, spawn_app, submission};

async fn accepted(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status().as_u16(), 201);
    let location = resp
        .headers()
        .get("Location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    let number = body["number"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/requests/{number}/public"));
    body
}

/// A customer writes in Kazakh, another in Russian, a third in English, none naming a language.
/// Each gets 201 with a fresh KM- number, the detected language, a category from the text, and an
/// acknowledgment in their own language quoting their number.
#[tokio::test(flavor = "multi_thread")]
async fn accepts_and_acknowledges_in_the_customers_language() {
    let mut app = spawn_app("intake-lang").await;
    let cases = [
        (
            "Интернет жұмыс істемейді, көмектесіңізші",
            "kk",
            "internet",
            "Сіздің өтінішіңіз қабылданды, нөмірі",
        ),
        (
            "Почему списали деньги с баланса дважды?",
            "ru",
            "billing",
            "Ваше обращение принято, номер",
        ),
        (
            "Roaming does not work abroad",
            "en",
            "roaming",
            "Your request has been received, number",
        ),
    ];
    let mut numbers = Vec::new();
    for (text, lang, category, ack) in cases {
        let body = accepted(app.post_request(&submission(text)).await).await;
        let number = body["number"].as_str().unwrap().to_owned();
        assert!(number.starts_with("KM-") && number.len() >= 9, "{number}");
        assert_eq!(body["status"], "new");
        assert_eq!(body["language"], lang, "{text}");
        assert_eq!(body["category"], category, "{text}");
        assert_eq!(body["acknowledgment"]["channel"], "web");
        let ack_text = body["acknowledgment"]["text"].as_str().unwrap();
        assert!(ack_text.starts_with(ack), "{ack_text}");
        assert!(ack_text.contains(&number), "{ack_text}");
        numbers.push(number);
    }
    numbers.dedup();
    assert_eq!(numbers.len(), 3, "every request gets its own number");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A client retries with the same Idempotency-Key and the same body: 200 with the first request's
/// id and number, and no second request. The key reused with another body: 422 problem+json with
/// code `idempotency_key_reused`.
#[tokio::test(flavor = "multi_thread")]
async fn idempotency_key_replays_or_refuses() {
    let mut app = spawn_app("intake-idem").await;
    let body = submission("Не работает интернет");
    let first = app.post_request_with_key("order-42", &body).await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();

    let again = app.post_request_with_key("order-42", &body).await;
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["number"], first["number"]);

    let other = app
        .post_request_with_key("order-42", &submission("Нет связи дома"))
        .await;
    let p = problem(other, 422).await;
    assert_eq!(p["code"], "idempotency_key_reused");

    let number = first["number"].as_str().unwrap();
    assert!(app.store.request_by_number(number).await.unwrap().is_some());
    let next = format!("KM-{:06}", number[3..].parse::<u64>().unwrap() + 1);
    assert!(
        app.store.request_by_number(&next).await.unwrap().is_none(),
        "the retry stored nothing new"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Bodies that do not fit the contract: an unknown field (top level and nested) is a 400 naming
/// it; no phone or email is a 422 naming `customer`; a bad phone number a 422 naming
/// `customer.msisdn`. All are problem+json, and nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_name_the_field() {
    let mut app = spawn_app("intake-fields").await;

    let mut unknown = submission("Не работает интернет");
    unknown["colour"] = json!("red");
    let p = problem(app.post_request(&unknown).await, 400).await;
    assert_eq!(fields(&p), ["colour"], "{p}");
    assert_eq!(p["code"], "bad_request");

    let mut nested = submission("Не работает интернет");
    nested["customer"]["phone"] = json!("+77011234567");
    let p = problem(app.post_request(&nested).await, 400).await;
    assert_eq!(fields(&p), ["customer.phone"], "{p}");

    let no_contact = json!({ "channel": "web", "customer": { "name": "Асқар" }, "text": "Не работает интернет" });
    let p = problem(app.post_request(&no_contact).await, 422).await;
    assert_eq!(fields(&p), ["customer"], "{p}");
    assert_eq!(p["code"], "invalid_fields");

    let mut bad_phone = submission("Не работает интернет");
    bad_phone["customer"]["msisdn"] = json!("12-34");
    let p = problem(app.post_request(&bad_phone).await, 422).await;
    assert_eq!(fields(&p), ["customer.msisdn"], "{p}");

    let mut bad_channel = submission("Не работает интернет");
    bad_channel["channel"] = json!("fax");
    let p = problem(app.post_request(&bad_channel).await, 400).await;
    assert_eq!(fields(&p), ["channel"], "{p}");

    let seq = app.store.keys().number_seq();
    assert_eq!(
        app.store.get_string(&seq).await.unwrap(),
        None,
        "no request was numbered"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A body one byte over `http.body_limit_bytes` gets 413, and a body that is not
/// application/json gets 415, both problem+json.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_non_json_bodies_are_refused() {
    let mut app = spawn_app("intake-limits").await;
    let limit = app.settings.http.body_limit_bytes;

    let mut big = submission("");
    let base = serde_json::to_vec(&big).unwrap().len();
    big["text"] = json!("x".repeat(limit + 1 - base));
    let bytes = serde_json::to_vec(&big).unwrap();
    assert_eq!(bytes.len(), limit + 1);
    let resp = app
        .http
        .post(app.url("/api/v1/requests"))
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let p = problem(resp, 413).await;
    assert_eq!(p["code"], "too_large");

    let resp = app
        .http
        .post(app.url("/api/v1/requests"))
        .header("content-type", "text/plain")
        .body(serde_json::to_vec(&submission("Не работает интернет")).unwrap())
        .send()
        .await
        .unwrap();
    let p = problem(resp, 415).await;
    assert_eq!(p["code"], "unsupported_media_type");

    let seq = app.store.keys().number_seq();
    assert_eq!(
        app.store.get_string(&seq).await.unwrap(),
        None,
        "no request was numbered"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A client sends `Idempotency-Key: sms:4711`, the key intake gives the inbound SMS Kannel numbers
/// 4711, before that SMS arrives (docs/security.md, "8. Idempotency namespaces"). The client's
/// request is accepted (201, and 200 for its retry), and the real SMS 4711 still becomes a
/// request of its own, from its sender, on the SMS channel.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_key_cannot_claim_an_sms() {
    use secrecy::ExposeSecret;

    let mut app = spawn_app("intake-idem-ns").await;
    let claimed = app
        .post_request_with_key("sms:4711", &submission("Нет связи"))
        .await;
    assert_eq!(claimed.status().as_u16(), 201);
    let claimed: Value = claimed.json().await.unwrap();
    let retry = app
        .post_request_with_key("sms:4711", &submission("Нет связи"))
        .await;
    assert_eq!(retry.status().as_u16(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["number"], claimed["number"]);

    let query = format!(
        "/api/v1/channels/sms/inbound?secret={}&from=%2B77051112233&to=1414&text=Balance+is+wrong&coding=0&id=4711",
        app.settings.sms.inbound_secret.expose_secret()
    );
    assert_eq!(app.get(&query, None).await.status().as_u16(), 200);
    let record = app
        .store
        .idempotency("sms:4711")
        .await
        .unwrap()
        .expect("the SMS's own key is stored");
    let sms = app
        .store
        .request(record.request_id)
        .await
        .unwrap()
        .expect("the SMS is a request");
    assert_ne!(sms.number.0, claimed["number"].as_str().unwrap());
    assert_eq!(sms.channel, komek_domain::Channel::Sms);
    assert_eq!(
        sms.customer.msisdn.as_ref().map(|m| m.as_str()),
        Some("+77051112233")
    );
    assert_eq!(sms.text, "Balance is wrong");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
