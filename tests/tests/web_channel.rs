//! The web channel end to end: intake's customer pages in a real headless Chromium on a phone-size
//! window, and the customer's message reaching the agent in the workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use futures_util::StreamExt;
use komek_e2e::browser::{
    browser, click, fits_the_screen, start_chromedriver, text_of, type_into, wait_for,
};
use komek_e2e::{Mesh, MeshOptions, WAIT, poll_json};
use serde_json::{Value, json};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next push of type `what` on `ws`, within [`WAIT`].
async fn pushed(ws: &mut Socket, what: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no push: {what}"));
        match frame {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(b))) => {
                let v: Value = serde_json::from_str(&b).unwrap();
                if v["type"] == what {
                    return v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended waiting for {what}: {other:?}"),
        }
    }
}

/// A customer on a phone (390x844, an English browser) opens the web form, switches it to
/// Kazakh and sends a request. The confirmation shows the number and the resolution deadline in
/// Kazakhstan time. Aigerim takes the request and asks the customer something
/// (`wait_for_customer`). The customer opens the status page with the number and their phone
/// number in its national form, sees the question, and answers it with the message form. Aigerim
/// is told over her live connection, sees the customer's message in the request, and the request
/// is in progress again; the customer's status page then shows their message too. Every page fits
/// the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_writes_on_the_web_and_the_agent_sees_it() {
    let mesh = Mesh::start(MeshOptions {
        tag: "webchannel",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "390,844").await;
    c.set_window_size(390, 844).await.unwrap();

    // The form, switched to Kazakh.
    c.goto(&mesh.url("intake", "/")).await.unwrap();
    assert_eq!(text_of(&c, "h1").await, "Make a request");
    click(&c, "nav a[hreflang=kk]").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//h1[text()='Өтініш қалдыру']"))
        .await
        .unwrap();
    fits_the_screen(&c, "the form").await;
    type_into(&c, "#name", "Асқар").await;
    type_into(&c, "#phone", "+7 701 123 45 67").await;
    let text = "Интернет жұмыс істемейді, көмектесіңізші";
    type_into(&c, "#text", text).await;
    click(&c, "#send").await;

    // The confirmation: number and deadline.
    let number = text_of(&c, "span#number").await;
    assert!(number.starts_with("KM-"), "{number}");
    assert_eq!(text_of(&c, "h1").await, "Өтінішіңіз қабылданды");
    let public: Value = http
        .get(mesh.url(
            "intake",
            &format!("/api/v1/requests/{number}/public?contact=87011234567"),
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["language"], "kk");
    assert_eq!(public["channel"], "web");
    let due = time::OffsetDateTime::parse(
        public["due"]["resolution"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        text_of(&c, "#due").await,
        komek_domain::ack::format_local(due)
    );
    fits_the_screen(&c, "the confirmation").await;
    // The confirmation's status link (the status token) opens the request without number and
    // contact.
    let link = c
        .find(Locator::Css("#status-token-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        link.starts_with(&mesh.url("intake", "/status/t/")),
        "{link}"
    );
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK, "{link}");
    assert!(page.text().await.unwrap().contains(&number));

    // The agent takes it and asks the customer something.
    let token = mesh.login(&http, "aigerim", "komek-agent").await;
    let taken = mesh.take_next(&http, &token).await;
    assert_eq!(taken["number"], number.as_str());
    let id = taken["id"].as_str().unwrap().to_owned();
    let question = "Қай қалада тұрасыз?";
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/requests/{id}/replies")))
        .bearer_auth(&token)
        .json(&json!({ "text": question, "wait_for_customer": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let live = mesh
        .url("workspace", &format!("/api/v1/live?token={token}"))
        .replace("http://", "ws://");
    let mut ws = tokio_tungstenite::connect_async(live).await.unwrap().0;

    // The customer looks the request up and answers.
    c.goto(&mesh.url("intake", "/status?lang=kk"))
        .await
        .unwrap();
    type_into(&c, "input#number", &number).await;
    type_into(&c, "input#contact", "8 701 123 45 67").await;
    click(&c, "#show").await;
    wait_for(&c, "#conversation").await;
    assert_eq!(text_of(&c, "#status").await, "Сіздің жауабыңызды күтуде");
    assert_eq!(text_of(&c, ".msg-reply .body").await, question);
    assert_eq!(text_of(&c, ".msg-customer .body").await, text);
    fits_the_screen(&c, "the status page").await;
    let answer = "Алматыда тұрамын";
    type_into(&c, "#message", answer).await;
    click(&c, "#send-message").await;
    assert_eq!(
        text_of(&c, "#notice").await,
        "Хабарламаңыз жіберілді. Ол көп ұзамай осы жерде көрінеді."
    );

    // The agent: told live, the message in the request, in progress again.
    let push = pushed(&mut ws, "request.customer_message").await;
    assert_eq!(push["request_id"], id.as_str());
    assert_eq!(push["payload"]["text"], answer);
    let view = poll_json(
        &http,
        &mesh.url("workspace", &format!("/api/v1/requests/{id}")),
        Some(&token),
        "the agent sees the customer's message",
        |v| {
            v["request"]["messages"]
                .as_array()?
                .iter()
                .any(|m| m["kind"] == "customer" && m["text"] == answer)
                .then(|| v.clone())
        },
    )
    .await;
    assert_eq!(view["request"]["status"], "in_progress");
    assert!(view["request"]["paused_at"].is_null());
    let line = view["history"].as_array().unwrap().last().unwrap();
    assert_eq!(line["action"], "customer_message");
    assert_eq!(line["actor"], "customer:web");

    // The customer's page shows the message once the workspace has added it.
    komek_testkit::eventually(WAIT, "the status page shows the customer's message", || {
        let c = &c;
        async move {
            c.refresh().await.ok()?;
            let mine = c.find_all(Locator::Css(".msg-customer .body")).await.ok()?;
            let last = mine.last()?.text().await.ok()?;
            (mine.len() == 2 && last == answer).then_some(())
        }
    })
    .await;
    assert_eq!(text_of(&c, "#status").await, "Қаралуда");

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    mesh.finish().await;
}
