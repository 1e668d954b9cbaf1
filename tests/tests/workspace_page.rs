//! The agents' and supervisors' page of the workspace in a real headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use komek_e2e::browser::{
    self, browser, check_assets, click, fits_the_screen, start_chromedriver, text_of, type_into,
    wait_for, wait_text,
};
use komek_e2e::{Mesh, MeshOptions, WAIT, poll_json};
use komek_testkit::eventually;
use serde_json::json;

/// Signs in and waits until the page's live connection is up, before the test makes anything
/// happen.
async fn sign_in(c: &fantoccini::Client, login: &str, password: &str) {
    browser::sign_in(c, login, password).await;
    wait_for(c, "#live-status[data-state='open']").await;
}

/// An agent works a Kazakh request on the page from offer to resolution; a supervisor sees the
/// agents and queues and reassigns another agent's request; the interface switches to Kazakh and
/// works at phone width.
///
/// - daniyar (through the API) takes a Russian request first, while nobody is online.
/// - aigerim signs in on the page and goes online; a Kazakh request from the demo customer is
///   posted to intake, and its offer is pushed to her page over the WebSocket (the page is not
///   reloaded). She accepts it (the countdown runs), opens it from "My requests" (the customer
///   block shows the seeded tariff and balance), picks a template (the reply box gets the
///   text with the request number), sends the reply and resolves the request. The API shows it
///   resolved with her reply among its messages.
/// - She signs out (going offline); another request waits in a queue. saule signs in, sees the
///   agents and the queue, and reassigns daniyar's request to aigerim: the API shows the new owner.
/// - The language switch turns the labels Kazakh and is remembered; the page fits a phone screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_and_supervisors_work_on_the_page_in_chromium() {
    let mesh = Mesh::start(MeshOptions {
        tag: "wspage",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    check_assets(&http, &mesh, "workspace").await;

    // daniyar holds a Russian request, taken through the API while nobody is online.
    let d_req = mesh.post_request(
        &http,
        &json!({"channel": "call_center", "customer": {"msisdn": "+77015550102", "name": "Ольга"},
               "text": "Не понимаю списание с баланса за прошлый месяц"}),
    )
    .await;
    let (d_id, d_number) = (
        d_req["id"].as_str().unwrap().to_owned(),
        d_req["number"].as_str().unwrap().to_owned(),
    );
    let daniyar = mesh.login(&http, "daniyar", "komek-agent").await;
    let taken = mesh.take_next(&http, &daniyar).await;
    assert_eq!(taken["id"], d_id.as_str());
    assert_eq!(taken["owner"], "daniyar");

    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&mesh.url("workspace", "/")).await.unwrap();

    // aigerim signs in and goes online.
    sign_in(&c, "aigerim", "komek-agent").await;
    click(&c, "#presence-online").await;
    wait_for(&c, "#presence-online[aria-pressed='true']").await;
    // A mark that a reload would wipe out.
    c.execute("window.__komekSamePage = 'yes'; return true;", vec![])
        .await
        .unwrap();

    // A Kazakh request from the demo customer (config/demo-customers.csv) arrives; its offer is
    // pushed to her page.
    let k_req = mesh
        .post_request(
            &http,
            &json!({"channel": "web", "customer": {"msisdn": "+77011234567", "name": "Асқар"},
               "text": "Мобильді интернет жұмыс істемейді, көмектесіңізші"}),
        )
        .await;
    assert_eq!(k_req["language"], "kk");
    let (k_id, k_number) = (
        k_req["id"].as_str().unwrap().to_owned(),
        k_req["number"].as_str().unwrap().to_owned(),
    );
    let offer = format!("li[data-testid='offer'][data-request-id='{k_id}']");
    wait_for(&c, &offer).await;
    let countdown = wait_text(
        &c,
        &format!("{offer} [data-testid='offer-countdown'][data-left]"),
        "the offer's countdown runs",
        |t| t.chars().any(|ch| ch.is_ascii_digit()),
    )
    .await;
    assert!(!countdown.is_empty());
    let same_page = c
        .execute("return window.__komekSamePage || null;", vec![])
        .await
        .unwrap();
    assert_eq!(same_page, json!("yes"), "the offer came without a reload");

    // She accepts it and opens it from "My requests".
    click(&c, &format!("{offer} button[data-testid='offer-accept']")).await;
    let mine = format!("li[data-testid='my-request'][data-request-id='{k_id}']");
    click(&c, &format!("{mine} button[data-testid='my-request-open']")).await;
    wait_for(&c, &format!("#request-panel[data-request-id='{k_id}']")).await;
    assert_eq!(text_of(&c, "#req-number").await, k_number);
    wait_for(&c, "#req-status[data-status='assigned']").await;
    // The customer block shows the seeded profile (customer 360).
    wait_for(
        &c,
        "#customer-box[data-source='directory'][data-degraded='false']",
    )
    .await;
    assert_eq!(text_of(&c, "#cust-name").await, "Асқар Нұрланұлы");
    assert_eq!(text_of(&c, "#cust-phone").await, "+77011234567");
    assert_eq!(text_of(&c, "#cust-tariff").await, "Komek Unlimited");
    let balance = text_of(&c, "#cust-balance[data-tenge='1250']").await;
    let digits: String = balance.chars().filter(char::is_ascii_digit).collect();
    assert!(digits == "1250" && balance.contains('₸'), "{balance}");
    wait_for(&c, "#req-history tr[data-action='assigned']").await;

    // A template fills the reply box with the request's number in it.
    wait_for(&c, "#template-select:not([disabled]) option:nth-of-type(2)").await;
    c.find(Locator::Id("template-select"))
        .await
        .unwrap()
        .select_by_index(1)
        .await
        .unwrap();
    let reply = {
        let (c, number) = (&c, &k_number);
        eventually(WAIT, "the template fills the reply box", || async move {
            let v = c
                .find(Locator::Id("reply-text"))
                .await
                .ok()?
                .prop("value")
                .await
                .ok()??;
            v.contains(number.as_str()).then_some(v)
        })
        .await
    };
    click(&c, "#reply-send").await;
    wait_for(&c, "#req-messages li[data-kind='reply']").await;
    wait_for(&c, "#req-status[data-status='in_progress']").await;

    let resolution = "Мобильді интернет баптаулары жаңартылды, интернет жұмыс істейді.";
    type_into(&c, "#resolution-text", resolution).await;
    click(&c, "#resolve-send").await;
    wait_for(&c, "#req-status[data-status='resolved']").await;
    wait_for(&c, "#req-history tr[data-action='resolved']").await;

    // The API agrees: resolved, with her reply among the customer-visible messages.
    let aigerim = mesh.login(&http, "aigerim", "komek-agent").await;
    let view = mesh
        .wait_for_status(
            &http,
            &aigerim,
            &k_id,
            "resolved",
            "the request is resolved",
        )
        .await;
    let request = &view["request"];
    assert_eq!(request["owner"], "aigerim");
    assert_eq!(request["resolution"], resolution);
    let replies: Vec<&str> = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reply")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(replies, [reply.trim()], "{request}");

    // She signs out (and goes offline): her session ends on the server too. Another request
    // waits in a queue.
    browser::sign_out_ends_the_session(&c, &http, &mesh, "workspace", "komek.session").await;
    mesh.post_request(
        &http,
        &json!({"channel": "email", "customer": {"email": "john@example.com", "name": "John"},
               "text": "Roaming does not work in Turkey, please help"}),
    )
    .await;

    // saule, a supervisor, sees agents and queues.
    sign_in(&c, "saule", "komek-super").await;
    wait_for(&c, "#super-view:not([hidden])").await;
    wait_for(
        &c,
        "tr[data-testid='sv-agent'][data-login='aigerim'][data-presence='offline']",
    )
    .await;
    wait_for(&c, "tr[data-testid='sv-agent'][data-login='daniyar']").await;
    let load = text_of(
        &c,
        "tr[data-testid='sv-agent'][data-login='daniyar'] [data-testid='sv-agent-load']",
    )
    .await;
    assert!(load.starts_with("1 /"), "{load}");
    wait_for(&c, "tr[data-testid='sv-queue']").await;

    // She reassigns daniyar's request to aigerim.
    type_into(&c, "#reassign-request", &d_number).await;
    wait_for(&c, "#reassign-agent option[value='aigerim']").await;
    c.find(Locator::Id("reassign-agent"))
        .await
        .unwrap()
        .select_by_value("aigerim")
        .await
        .unwrap();
    click(&c, "#reassign-send").await;
    wait_for(&c, &format!("#reassign-result[data-number='{d_number}']")).await;
    let saule = mesh.login(&http, "saule", "komek-super").await;
    poll_json(
        &http,
        &mesh.url("workspace", &format!("/api/v1/requests/{d_id}")),
        Some(&saule),
        "daniyar's request now belongs to aigerim",
        |v| (v["request"]["owner"] == "aigerim").then_some(()),
    )
    .await;

    // The interface in Kazakh, remembered for the next visit.
    let english = text_of(&c, "#sv-agents-title").await;
    c.find(Locator::Id("lang-select"))
        .await
        .unwrap()
        .select_by_value("kk")
        .await
        .unwrap();
    wait_text(&c, "#sv-agents-title", "the label turns Kazakh", |t| {
        t == "Операторлар"
    })
    .await;
    assert_ne!(english, "Операторлар");
    assert_eq!(text_of(&c, "#signout").await, "Шығу");
    let (lang, saved) = (
        c.execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap(),
        c.execute("return localStorage.getItem('komek.lang');", vec![])
            .await
            .unwrap(),
    );
    assert_eq!((lang, saved), (json!("kk"), json!("kk")));

    // A phone-width screen: nothing wider than the screen, in both views.
    c.set_window_size(390, 844).await.unwrap();
    fits_the_screen(&c, "the supervisors' view").await;
    click(&c, "#tab-work").await;
    wait_for(&c, "#work-view:not([hidden])").await;
    fits_the_screen(&c, "the agents' view").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);

    mesh.finish().await;
}
