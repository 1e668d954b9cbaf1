//! A supervisor is told on the workspace page, in a real headless Chromium, when spike detection
//! opens a candidate problem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use komek_e2e::browser::{
    self, browser, click, start_chromedriver, wait_for, wait_gone, wait_text,
};
use komek_e2e::{Mesh, MeshOptions, WAIT, poll_json};
use komek_testkit::eventually;
use serde_json::{Value, json};

/// The demo customer (config/demo-customers.csv) whose region is Almaty.
const ALMATY_CUSTOMER: &str = "+77011234567";

/// saule signs in on the workspace page (Supervision tab, no problems yet). The mesh runs with
/// small spike settings (1-minute windows, 2 of baseline, at least 5 requests, factor 1, 0
/// sigmas), so six network complaints from a customer in Almaty are a spike: escalation opens a
/// candidate problem and `problem.opened` (detail `candidate`) is pushed to her page. Without a
/// reload:
///
/// - the spike banner shows the candidate's number, and a flash says its title;
/// - the Problems panel lists it, highlighted as a candidate, with the API's title, department
///   `network`, and its linked requests counted as they are linked (`problem.linked` pushes);
/// - in Russian, the banner says so in Russian; closing it hides it;
/// - network staff propose the resolution (API, 202): the panel shows the proposal with its text
///   and an Approve button (pushed live); saule approves it there, and the problem, resolved,
///   leaves the panel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_alerts_the_supervisor_on_the_page_in_chromium() {
    let spikes = [
        ("WINDOW_MINUTES", "1"),
        ("BASELINE_WINDOWS", "2"),
        ("MIN_COUNT", "5"),
        ("FACTOR", "1"),
        ("SIGMAS", "0"),
        ("BY_REGION", "true"),
        ("ENABLED", "true"),
    ];
    let mesh = Mesh::start(MeshOptions {
        tag: "spikepage",
        env: spikes
            .iter()
            .map(|(k, v)| (format!("KOMEK__SPIKES__{k}"), (*v).to_owned()))
            .collect(),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();

    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&mesh.url("workspace", "/")).await.unwrap();

    // saule is signed in, live, on the Supervision tab; the Problems panel has loaded (empty).
    browser::sign_in(&c, "saule", "komek-super").await;
    wait_for(&c, "#live-status[data-state='open']").await;
    wait_for(&c, "#super-view:not([hidden])").await;
    wait_text(&c, "#sv-problems", "the empty Problems panel", |t| {
        t.contains("No open problems")
    })
    .await;
    assert!(
        c.find_all(Locator::Css("#spike-alert:not([hidden])"))
            .await
            .unwrap()
            .is_empty(),
        "no banner before the spike"
    );
    // A mark that a reload would wipe out.
    c.execute("window.__komekSamePage = 'yes'; return true;", vec![])
        .await
        .unwrap();

    // Six network complaints from Almaty within the minute.
    let texts = [
        "Нет связи в Алматы, не могу позвонить",
        "Пропала связь, не могу дозвониться до мамы",
        "Нет сигнала весь день, связи нет",
        "Связь обрывается при каждом звонке",
        "Не могу позвонить, нет связи уже час",
        "Сигнал пропал, звонки не проходят, связи нет",
    ];
    for text in texts {
        let r = mesh
            .post_request(
                &http,
                &json!({"channel": "web", "customer": {"msisdn": ALMATY_CUSTOMER, "name": "Асқар"},
                        "text": text}),
            )
            .await;
        assert_eq!(r["category"], "network", "{r}");
    }

    // The API has the candidate.
    let saule = mesh.login(&http, "saule", "komek-super").await;
    let candidate: Value = poll_json(
        &http,
        &mesh.url("workspace", "/api/v1/problems"),
        Some(&saule),
        "spike detection opens a candidate problem",
        |v| {
            v.as_array()?
                .iter()
                .find(|p| p["status"] == "candidate")
                .cloned()
        },
    )
    .await;
    assert_eq!(candidate["category"], "network", "{candidate}");
    assert_eq!(candidate["region"], "Almaty", "{candidate}");
    assert_eq!(candidate["department"], "network", "{candidate}");
    assert_eq!(candidate["created_by"], "system:spike", "{candidate}");
    let (id, number, title) = (
        candidate["id"].as_str().unwrap().to_owned(),
        candidate["number"].as_str().unwrap().to_owned(),
        candidate["title"].as_str().unwrap().to_owned(),
    );
    assert!(
        title.starts_with("Spike: ") && title.contains("network requests in Almaty in 1 min"),
        "{title}"
    );

    // The banner names it, and the flash said its title.
    let item = format!(
        "#spike-alert:not([hidden]) li[data-testid='spike-alert-item'][data-problem-id='{id}']"
    );
    wait_for(&c, &item).await;
    // First the server's title, then (once the problem's figures are loaded) the page's own
    // sentence in the page's language: wait for the latter.
    wait_text(&c, &item, "the banner names the candidate", |t| {
        t.contains(&number)
            && t.contains("Almaty")
            && t.contains("1 min")
            && t.contains("requests (Network)")
    })
    .await;
    {
        let (c, title) = (&c, &title);
        eventually(WAIT, "the flash says the spike's title", || async move {
            let v = c
                .execute(
                    "return document.getElementById('flash').textContent;",
                    vec![],
                )
                .await
                .ok()?;
            v.as_str()
                .filter(|t| t.contains(title.as_str()))
                .map(|_| ())
        })
        .await;
    }

    // The Problems panel lists it as a candidate, and counts its links as they come.
    let row = format!(
        "tr[data-testid='sv-problem'][data-problem-id='{id}'][data-status='candidate'].candidate"
    );
    wait_for(&c, &row).await;
    wait_text(
        &c,
        &format!("{row} [data-testid='sv-problem-title']"),
        "the panel shows the candidate's title",
        |t| t == title,
    )
    .await;
    wait_text(
        &c,
        &format!("{row} [data-testid='sv-problem-number']"),
        "the panel shows the candidate's number",
        |t| t == number,
    )
    .await;
    wait_for(
        &c,
        &format!("{row} [data-testid='sv-problem-status'][data-problem-status='candidate']"),
    )
    .await;
    wait_text(
        &c,
        &format!("{row} [data-testid='sv-problem-linked']"),
        "the panel counts the linked requests",
        |t| t.parse::<u64>().is_ok_and(|n| n >= 5),
    )
    .await;
    wait_text(&c, "#sv-problems-count", "one problem counted", |t| {
        t == "1"
    })
    .await;
    let same_page = c
        .execute("return window.__komekSamePage || null;", vec![])
        .await
        .unwrap();
    assert_eq!(same_page, json!("yes"), "the alert came without a reload");

    // In Russian, the banner speaks Russian.
    c.find(Locator::Id("lang-select"))
        .await
        .unwrap()
        .select_by_value("ru")
        .await
        .unwrap();
    wait_text(
        &c,
        "#spike-alert .alert-head strong",
        "the banner's heading in Russian",
        |t| t == "Всплеск обращений",
    )
    .await;
    wait_text(&c, &item, "the banner's text in Russian", |t| {
        t.contains("обращений") && t.contains("Almaty") && t.contains(&number)
    })
    .await;
    wait_text(
        &c,
        &format!("{row} [data-testid='sv-problem-status']"),
        "the candidate's status in Russian",
        |t| t == "Не подтверждена",
    )
    .await;

    // Closing the banner hides it; the panel keeps the candidate.
    click(&c, "#spike-dismiss").await;
    browser::wait_gone(&c, "#spike-alert:not([hidden])", "the banner closes").await;
    wait_for(&c, &row).await;

    // Network proposes the resolution; only the supervisor's approval sends it.
    let network1 = mesh.login(&http, "network1", "komek-dept").await;
    let text = "Связь в Алматы восстановлена, приносим извинения";
    let proposed = mesh
        .post_as(
            &http,
            "escalation",
            &format!("/api/v1/problems/{id}/resolve"),
            &network1,
            &json!({ "messages": { "ru": text } }),
        )
        .await;
    assert_eq!(proposed.status().as_u16(), 202, "a department proposes");
    let pending =
        format!("tr[data-testid='sv-problem'][data-problem-id='{id}'][data-proposal='pending']");
    wait_for(&c, &pending).await;
    wait_text(
        &c,
        &format!("{pending} [data-testid='sv-problem-proposal-text']"),
        "the panel shows the proposed text",
        |t| t.contains(text),
    )
    .await;
    click(&c, &format!("{pending} [data-testid='sv-problem-approve']")).await;
    wait_gone(
        &c,
        &format!("tr[data-testid='sv-problem'][data-problem-id='{id}']"),
        "the approved problem is resolved and leaves the panel",
    )
    .await;
    let resolved: Value = mesh
        .get_as(
            &http,
            "escalation",
            &format!("/api/v1/problems/{id}"),
            &saule,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resolved["problem"]["status"], "resolved", "{resolved}");
    assert_eq!(resolved["problem"]["resolved_by"], "saule");
    assert_eq!(resolved["problem"]["proposal"]["by"], "network1");

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    mesh.finish().await;
}
