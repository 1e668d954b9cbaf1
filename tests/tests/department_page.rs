//! The department staff's page of the escalation service in a real headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use komek_e2e::browser::{
    self, browser, check_assets, click, fits_the_screen, select_value, start_chromedriver, text_of,
    type_into, wait_for, wait_gone, wait_text,
};
use komek_e2e::{Mesh, MeshOptions, poll_json};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Department staff sign in with the demo seed's password.
async fn sign_in(c: &fantoccini::Client, login: &str) {
    browser::sign_in(c, login, "komek-dept").await;
}

async fn sign_out(c: &fantoccini::Client) {
    click(c, "#signout").await;
    wait_for(c, "#login-view:not([hidden])").await;
}

/// A request posted to intake: its id and number.
async fn post_request(http: &reqwest::Client, mesh: &Mesh, body: Value) -> (String, String) {
    let v = mesh.post_request(http, &body).await;
    (
        v["id"].as_str().unwrap().to_owned(),
        v["number"].as_str().unwrap().to_owned(),
    )
}

/// The agent takes the next request (it must be `id`) and escalates it to `department`; returns
/// the escalation's id.
async fn take_and_escalate(
    http: &reqwest::Client,
    mesh: &Mesh,
    agent: &str,
    id: &str,
    department: &str,
    reason: &str,
) -> String {
    let taken = mesh.take_next(http, agent).await;
    assert_eq!(taken["id"], id);
    mesh.escalate(http, agent, id, department, reason).await
}

/// Whether the figures tab is shown (heads only).
async fn figures_tab_shown(c: &fantoccini::Client) -> bool {
    c.find(Locator::Css("#tab-figures:not([hidden])"))
        .await
        .is_ok()
}

/// Billing works escalations and a problem on the page; the head sees the figures; network never
/// sees billing's escalation.
///
/// - daniyar (agent, API) escalates two Russian requests to billing. billing1 signs in on the
///   escalation service's page: both are in the queue with a running deadline.
/// - billing1 opens the first: the customer's text, the conversation and the customer 360
///   (the demo customer's name and tariff from the directory); accepts it and asks the agent.
///   daniyar answers through the workspace API; the live socket brings it to the open panel and
///   the queue without a reload (the page reads on a timer only while the socket is down). A
///   third escalation arrives in the queue the same way. billing1 answers with the outcome
///   "resolved": the request returns to daniyar, in progress.
/// - billing1 rejects the second to network with a reason: it leaves billing's queue; network1
///   sees it on the page but never the first (404 on the API too, like an unknown id).
/// - billing1 creates a problem, links a waiting request by its number and resolves the problem
///   with texts in three languages: a proposal, shown as awaiting a supervisor's approval, and
///   the request stays open; saule approves it (workspace API) and the page, told live, shows the
///   problem resolved; the request is resolved with the text.
/// - billing1 has no figures tab; billing-head (level 3) sees the figures panel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_staff_work_escalations_and_problems_on_the_page_in_chromium() {
    let mesh = Mesh::start(MeshOptions {
        tag: "deptpage",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    check_assets(&http, &mesh, "escalation").await;

    // Two Russian requests from the demo customer, escalated by daniyar to billing.
    let text1 = "С баланса дважды списали абонентскую плату за март, верните деньги";
    let customer = json!({"msisdn": "+77051112233", "name": "Ольга"});
    let (r1, n1) = post_request(
        &http,
        &mesh,
        json!({"channel": "call_center", "customer": customer, "text": text1}),
    )
    .await;
    let daniyar = mesh.login(&http, "daniyar", "komek-agent").await;
    let e1 = take_and_escalate(
        &http,
        &mesh,
        &daniyar,
        &r1,
        "billing",
        "Двойное списание абонентской платы",
    )
    .await;
    let (r2, _) = post_request(
        &http,
        &mesh,
        json!({"channel": "call_center", "customer": customer,
               "text": "Нет связи в посёлке уже второй день, при этом деньги списывают"}),
    )
    .await;
    let e2 = take_and_escalate(&http, &mesh, &daniyar, &r2, "billing", "Просит перерасчёт").await;

    // Both reach billing's queue (the escalation service's consumer opens them).
    let billing1 = mesh.login(&http, "billing1", "komek-dept").await;
    let queue = mesh.url("escalation", "/api/v1/escalations");
    let due1 = poll_json(
        &http,
        &queue,
        Some(&billing1),
        "both escalations reach billing",
        |list| {
            let list = list.as_array()?;
            let has = |id: &str| list.iter().find(|e| e["id"] == id);
            has(&e2)?;
            has(&e1)?["due_at"].as_str().map(str::to_owned)
        },
    )
    .await;
    assert!(!due1.is_empty());

    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&mesh.url("escalation", "/")).await.unwrap();

    // billing1's queue: both, with their deadlines counting down.
    sign_in(&c, "billing1").await;
    wait_for(&c, "#live-status[data-state='open']").await;
    let row1 = format!("tr[data-testid='esc-row'][data-escalation-id='{e1}']");
    let row2 = format!("tr[data-testid='esc-row'][data-escalation-id='{e2}']");
    wait_for(
        &c,
        &format!("{row1}[data-status='open'][data-tier='first_line']"),
    )
    .await;
    wait_for(&c, &row2).await;
    let left = wait_text(
        &c,
        &format!("{row1} [data-testid='esc-due'][data-state='running']"),
        "the deadline counts down",
        |t| t.ends_with("left") && t.chars().any(|ch| ch.is_ascii_digit()),
    )
    .await;
    assert!(!left.is_empty());
    assert!(!figures_tab_shown(&c).await, "billing1 is not a head");
    c.execute("window.__komekSamePage = 'yes'; return true;", vec![])
        .await
        .unwrap();

    // She opens the first: the conversation and the customer 360.
    click(&c, &format!("{row1} button[data-testid='esc-open']")).await;
    wait_for(&c, &format!("#esc-panel[data-escalation-id='{e1}']")).await;
    assert_eq!(text_of(&c, "#esc-number").await, n1);
    assert_eq!(text_of(&c, "#req-text").await, text1);
    wait_for(&c, "#req-messages li").await;
    wait_for(
        &c,
        "#customer-box[data-source='directory'][data-degraded='false']",
    )
    .await;
    assert_eq!(text_of(&c, "#cust-name").await, "Ольга Петрова");
    assert_eq!(text_of(&c, "#cust-phone").await, "+77051112233");
    wait_for(&c, "#req-history tr[data-action='escalated']").await;
    wait_for(&c, "#esc-steps li[data-action='opened']").await;

    // Accepts it and asks the agent.
    click(&c, "#esc-accept").await;
    wait_for(&c, "#esc-status[data-status='accepted']").await;
    assert_eq!(text_of(&c, "#esc-assignee").await, "billing1");
    click(&c, "#info-box summary").await;
    type_into(&c, "#info-question", "Уточните дату второго списания").await;
    click(&c, "#info-send").await;
    wait_for(&c, "#esc-status[data-status='info_requested']").await;
    wait_for(&c, "#esc-steps li[data-action='info_requested']").await;
    wait_for(&c, &format!("{row1}[data-status='info_requested']")).await;

    // daniyar answers through the workspace; the live socket brings it to the open panel and
    // the queue, with no reload and no timer (it reads on a timer only while the socket is down).
    let info = format!("/api/v1/requests/{r1}/escalations/{e1}/info");
    let body = json!({"text": "Второе списание было 3 марта"});
    let r = mesh
        .post_as(&http, "workspace", &info, &daniyar, &body)
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    wait_for(&c, "#esc-steps li[data-action='info_given']").await;
    wait_for(&c, "#esc-status[data-status='accepted']").await;
    wait_for(&c, &format!("{row1}[data-status='accepted']")).await;
    // A new escalation arrives in the queue the same way.
    let (r4, _) = post_request(
        &http,
        &mesh,
        json!({"channel": "call_center", "customer": customer,
               "text": "Списали за услугу, которую я не подключала"}),
    )
    .await;
    let e4 = take_and_escalate(&http, &mesh, &daniyar, &r4, "billing", "Неизвестная услуга").await;
    wait_for(
        &c,
        &format!("tr[data-testid='esc-row'][data-escalation-id='{e4}'][data-status='open']"),
    )
    .await;
    let same_page = c
        .execute("return window.__komekSamePage || null;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        json!("yes"),
        "the queue refreshed without a reload"
    );

    // She answers.
    let answer = "Повторное списание возвращено на баланс";
    type_into(&c, "#answer-text", answer).await;
    select_value(&c, "#answer-outcome", "resolved").await;
    click(&c, "#answer-send").await;
    wait_for(&c, "#esc-panel[data-status='answered']").await;
    wait_gone(&c, &row1, "the answered escalation leaves the active queue").await;
    let answered = poll_json(
        &http,
        &mesh.url("escalation", &format!("/api/v1/escalations/{e1}")),
        Some(&billing1),
        "the escalation is answered",
        |e| (e["status"] == "answered").then(|| e.clone()),
    )
    .await;
    assert_eq!(answered["outcome"], "resolved");
    assert_eq!(answered["answered_by"], "billing1");
    assert_eq!(answered["answer"], answer);
    mesh.wait_for_status(
        &http,
        &daniyar,
        &r1,
        "in_progress",
        "the answer returns to the agent",
    )
    .await;

    // The second is network's: rejected with a reason, it leaves billing's queue.
    click(&c, &format!("{row2} button[data-testid='esc-open']")).await;
    wait_for(&c, &format!("#esc-panel[data-escalation-id='{e2}']")).await;
    click(&c, "#reject-box summary").await;
    select_value(&c, "#reject-department", "network").await;
    type_into(&c, "#reject-reason", "Нет связи: это сеть, не биллинг").await;
    click(&c, "#reject-send").await;
    wait_gone(&c, &row2, "the rejected escalation leaves billing's queue").await;
    wait_for(&c, "#esc-panel[hidden]").await;

    // A problem: created, a waiting request linked by its number, resolved in three languages.
    let (r3, n3) = post_request(
        &http,
        &mesh,
        json!({"channel": "email", "customer": {"email": "john@example.com", "name": "John"},
               "text": "I was charged twice for my monthly fee in March"}),
    )
    .await;
    click(&c, "#tab-problems").await;
    wait_for(&c, "#problems-view:not([hidden])").await;
    let title = "Double charge of the monthly fee in March";
    type_into(&c, "#problem-title", title).await;
    select_value(&c, "#problem-category", "billing").await;
    click(&c, "#problem-create").await;
    let panel = "#problem-panel:not([hidden])[data-status='open']";
    wait_for(&c, panel).await;
    assert_eq!(text_of(&c, "#problem-title-view").await, title);
    let problem_id = c
        .find(Locator::Id("problem-panel"))
        .await
        .unwrap()
        .attr("data-problem-id")
        .await
        .unwrap()
        .unwrap();
    wait_for(
        &c,
        &format!("li[data-testid='problem'][data-problem-id='{problem_id}']"),
    )
    .await;
    type_into(&c, "#link-numbers", &n3).await;
    click(&c, "#link-send").await;
    wait_for(
        &c,
        &format!("#problem-requests li[data-testid='problem-request'][data-number='{n3}']"),
    )
    .await;
    assert_eq!(text_of(&c, "#problem-linked").await, "1");
    type_into(&c, "#resolve-kk", "Қайталанған төлем қайтарылды.").await;
    type_into(&c, "#resolve-ru", "Повторное списание возвращено.").await;
    type_into(&c, "#resolve-en", "The double charge has been refunded.").await;
    click(&c, "#resolve-send").await;
    // A department's resolution waits for a supervisor: the page says so, nothing is sent.
    wait_for(
        &c,
        "#problem-panel[data-status='open'][data-proposal='pending'] #problem-proposal:not([hidden])",
    )
    .await;
    wait_text(
        &c,
        "#problem-proposal-state",
        "the proposal awaits a supervisor",
        |t| t.contains("billing1") && t.contains("supervisor"),
    )
    .await;
    let saule = mesh.login(&http, "saule", "komek-super").await;
    let before = mesh
        .get_as(
            &http,
            "workspace",
            &format!("/api/v1/requests/{r3}"),
            &saule,
        )
        .await;
    let before: Value = before.json().await.unwrap();
    assert_ne!(
        before["request"]["status"], "resolved",
        "nothing is sent before a supervisor approves"
    );
    let listed: Value = mesh
        .get_as(&http, "workspace", "/api/v1/problems", &saule)
        .await
        .json()
        .await
        .unwrap();
    let proposal_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == problem_id.as_str())
        .and_then(|p| p["proposal"]["id"].as_str())
        .expect("the supervisors' list shows the proposal")
        .to_owned();
    let approved = mesh
        .post_as(
            &http,
            "workspace",
            &format!("/api/v1/problems/{problem_id}/approve"),
            &saule,
            &json!({ "proposal_id": proposal_id }),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    // The approval reaches the department's page over its live socket.
    wait_for(&c, "#problem-panel[data-status='resolved']").await;
    let resolved = mesh
        .wait_for_status(
            &http,
            &saule,
            &r3,
            "resolved",
            "the linked request is resolved",
        )
        .await;
    assert_eq!(
        resolved["request"]["resolution"],
        "The double charge has been refunded."
    );

    // network1 sees the rerouted one on the page, never billing's. Signing out ends the session
    // on the server too.
    browser::sign_out_ends_the_session(&c, &http, &mesh, "escalation", "komek.dept.session").await;
    sign_in(&c, "network1").await;
    wait_for(&c, &format!("{row2}[data-status='open']")).await;
    assert!(c.find(Locator::Css(&row1)).await.is_err());
    let network1 = mesh.login(&http, "network1", "komek-dept").await;
    for path in [
        format!("/api/v1/escalations/{e1}"),
        format!("/api/v1/escalations/{e1}/context"),
    ] {
        let r = mesh.get_as(&http, "escalation", &path, &network1).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let network_all = poll_json(
        &http,
        &format!("{queue}?status=all"),
        Some(&network1),
        "network's list",
        |v| v.as_array().cloned(),
    )
    .await;
    assert!(network_all.iter().all(|e| e["id"] != e1.as_str()));
    assert!(network_all.iter().any(|e| e["id"] == e2.as_str()));

    // billing-head sees the department's figures.
    sign_out(&c).await;
    sign_in(&c, "billing-head").await;
    assert!(figures_tab_shown(&c).await, "billing-head is a head");
    click(&c, "#tab-figures").await;
    wait_for(&c, "#figures-view:not([hidden])").await;
    assert_eq!(text_of(&c, "#figures-department").await, "billing");
    let answered_30d = text_of(
        &c,
        "#figures-body tr[data-testid='figure'][data-key='answered_30d'] td",
    )
    .await;
    assert_eq!(answered_30d, "1", "billing answered one escalation");
    wait_for(&c, "#figures-body tr[data-key='active']").await;

    // A phone-width screen: nothing wider than the screen.
    c.set_window_size(390, 844).await.unwrap();
    fits_the_screen(&c, "the figures").await;
    click(&c, "#tab-queue").await;
    fits_the_screen(&c, "the queue").await;

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    mesh.finish().await;
}
