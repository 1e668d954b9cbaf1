//! The agents' side of the departments' work on the workspace page, in a real headless Chromium:
//! answering a department's question, and linking a request to a problem record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use komek_e2e::browser::{
    self, browser, click, select_value, start_chromedriver, text_of, type_into, wait_for, wait_text,
};
use komek_e2e::{Mesh, MeshOptions, poll_json};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A request posted to intake, taken by the agent `token` (it must be the one they get): its id
/// and number.
async fn post_and_take(
    http: &reqwest::Client,
    mesh: &Mesh,
    token: &str,
    body: Value,
) -> (String, String) {
    let v = mesh.post_request(http, &body).await;
    let (id, number) = (
        v["id"].as_str().unwrap().to_owned(),
        v["number"].as_str().unwrap().to_owned(),
    );
    let taken = mesh.take_next(http, token).await;
    assert_eq!(taken["id"], id.as_str());
    (id, number)
}

/// `POST path` on the escalation service as `token`, expecting `status`; returns the body.
async fn escalation_call(
    http: &reqwest::Client,
    mesh: &Mesh,
    token: &str,
    path: &str,
    body: &Value,
    status: StatusCode,
) -> Value {
    let r = mesh.post_as(http, "escalation", path, token, body).await;
    let got = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{path}: {v}");
    v
}

/// Opens request `id` from the agent's "My requests" list.
async fn open_mine(c: &fantoccini::Client, id: &str) {
    let mine = format!("li[data-testid='my-request'][data-request-id='{id}']");
    click(c, &format!("{mine} button[data-testid='my-request-open']")).await;
    wait_for(c, &format!("#request-panel[data-request-id='{id}']")).await;
}

/// An agent answers a department's question and links a request to a problem, on the page.
///
/// - aigerim (through the API) takes two Russian requests and escalates the first to billing;
///   billing1 accepts it on the escalation service's API.
/// - aigerim signs in on the workspace page and opens the escalated request: no question yet.
///   billing1 asks her something; the live push brings "Department asks: …" with its reply box
///   onto her page (no reload). She types the answer and sends it: the box goes away and the
///   history gets the line. The escalation API shows the escalation `accepted` again, with an
///   `info_given` step by aigerim carrying her text; billing1 answers, and the request returns
///   to her in progress.
/// - billing1 opens a billing problem. aigerim opens her second request, picks the problem and
///   links it: the page shows the problem and a `problem_linked` history line; the problem on the
///   escalation service lists the request, and the workspace's request carries the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_answers_a_department_and_links_a_problem_on_the_page_in_chromium() {
    let mesh = Mesh::start(MeshOptions {
        tag: "agentdept",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();

    // aigerim holds two Russian requests; the first is escalated to billing.
    let aigerim = mesh.login(&http, "aigerim", "komek-agent").await;
    let customer = json!({"msisdn": "+77051112233", "name": "Ольга"});
    let (r1, n1) = post_and_take(
        &http,
        &mesh,
        &aigerim,
        json!({"channel": "call_center", "customer": customer,
               "text": "С баланса дважды списали абонентскую плату за март, верните деньги"}),
    )
    .await;
    let e1 = mesh
        .escalate(
            &http,
            &aigerim,
            &r1,
            "billing",
            "Двойное списание абонентской платы",
        )
        .await;
    let (r2, n2) = post_and_take(
        &http,
        &mesh,
        &aigerim,
        json!({"channel": "call_center", "customer": customer,
               "text": "Снова списали деньги за услугу, которую я не подключала"}),
    )
    .await;

    // billing1 accepts the escalation once the escalation service has opened it.
    let billing1 = mesh.login(&http, "billing1", "komek-dept").await;
    let esc_url = mesh.url("escalation", &format!("/api/v1/escalations/{e1}"));
    poll_json(
        &http,
        &esc_url,
        Some(&billing1),
        "the escalation reaches billing",
        |e| (e["status"] == "open").then_some(()),
    )
    .await;
    escalation_call(
        &http,
        &mesh,
        &billing1,
        &format!("/api/v1/escalations/{e1}/accept"),
        &json!({}),
        StatusCode::OK,
    )
    .await;

    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&mesh.url("workspace", "/")).await.unwrap();

    // aigerim signs in and opens the escalated request: nothing is asked yet.
    browser::sign_in(&c, "aigerim", "komek-agent").await;
    wait_for(&c, "#live-status[data-state='open']").await;
    open_mine(&c, &r1).await;
    assert_eq!(text_of(&c, "#req-number").await, n1);
    wait_for(&c, "#req-status[data-status='escalated']").await;
    wait_for(&c, "#req-history tr[data-action='escalation_accepted']").await;
    wait_for(&c, "#info-form[hidden]").await;
    c.execute("window.__komekSamePage = 'yes'; return true;", vec![])
        .await
        .unwrap();

    // billing1 asks; the question comes to her page with the live push.
    let question = "Уточните дату второго списания и сумму";
    escalation_call(
        &http,
        &mesh,
        &billing1,
        &format!("/api/v1/escalations/{e1}/request-info"),
        &json!({ "question": question }),
        StatusCode::OK,
    )
    .await;
    wait_for(&c, "#info-form:not([hidden])").await;
    wait_text(
        &c,
        "#info-question",
        "the department's question shows",
        |t| t == question,
    )
    .await;
    wait_for(
        &c,
        "#req-history tr[data-action='escalation_info_requested']",
    )
    .await;
    let same_page = c
        .execute("return window.__komekSamePage || null;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        json!("yes"),
        "the question came without a reload"
    );

    // She answers from the page.
    let answer = "Второе списание было 3 марта, 2 990 ₸";
    type_into(&c, "#info-text", answer).await;
    click(&c, "#info-send:not([disabled])").await;
    wait_for(&c, "#info-form[hidden]").await;
    wait_for(&c, "#req-history tr[data-action='escalation_info_given']").await;
    let history = text_of(
        &c,
        "#req-history tr[data-action='escalation_info_given'] td.detail",
    )
    .await;
    assert_eq!(history, answer);

    // The escalation is the department's to work again, with her answer as a step.
    let esc = poll_json(
        &http,
        &esc_url,
        Some(&billing1),
        "the escalation is accepted again with the agent's information",
        |e| (e["status"] == "accepted").then(|| e.clone()),
    )
    .await;
    let given: Vec<&Value> = esc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "info_given")
        .collect();
    assert_eq!(given.len(), 1, "{esc}");
    assert_eq!(given[0]["detail"], answer);
    assert_eq!(given[0]["actor"], "aigerim");
    let view = mesh
        .get_as(
            &http,
            "workspace",
            &format!("/api/v1/requests/{r1}"),
            &aigerim,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(
        view["request"]["escalation"].get("question").is_none(),
        "{view}"
    );

    // billing1 answers: the request returns to her, in progress.
    escalation_call(
        &http,
        &mesh,
        &billing1,
        &format!("/api/v1/escalations/{e1}/answer"),
        &json!({"text": "Повторное списание возвращено на баланс", "outcome": "resolved"}),
        StatusCode::OK,
    )
    .await;
    wait_for(&c, "#req-status[data-status='in_progress']").await;
    wait_for(&c, "#req-history tr[data-action='escalation_answered']").await;

    // billing1 opens a problem; aigerim links her second request to it on the page.
    let title = "Повторные списания абонентской платы";
    let problem = escalation_call(
        &http,
        &mesh,
        &billing1,
        "/api/v1/problems",
        &json!({"title": title, "category": "billing"}),
        StatusCode::CREATED,
    )
    .await;
    let (problem_id, problem_number) = (
        problem["id"].as_str().unwrap().to_owned(),
        problem["number"].as_str().unwrap().to_owned(),
    );
    open_mine(&c, &r2).await;
    assert_eq!(text_of(&c, "#req-number").await, n2);
    wait_for(&c, "#req-status[data-status='assigned']").await;
    assert_eq!(text_of(&c, "#req-problem").await, "—");
    select_value(&c, "#problem-select", &problem_id).await;
    click(&c, "#problem-link:not([disabled])").await;
    let shown = wait_text(&c, "#req-problem", "the request shows its problem", |t| {
        t.contains(&problem_number)
    })
    .await;
    assert_eq!(shown, format!("{problem_number} · {title}"));
    wait_for(&c, "#req-history tr[data-action='problem_linked']").await;
    let linked_line = text_of(
        &c,
        "#req-history tr[data-action='problem_linked'] td.detail",
    )
    .await;
    assert!(linked_line.contains(&problem_number), "{linked_line}");

    // The problem lists the request; the workspace's request carries the link.
    let problem_url = mesh.url("escalation", &format!("/api/v1/problems/{problem_id}"));
    let listed = poll_json(
        &http,
        &problem_url,
        Some(&billing1),
        "the problem lists the request",
        |v| v["requests"].as_array().cloned(),
    )
    .await;
    let numbers: Vec<&str> = listed
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [n2.as_str()]);
    assert_eq!(listed[0]["id"], r2.as_str());
    let view = mesh
        .get_as(
            &http,
            "workspace",
            &format!("/api/v1/requests/{r2}"),
            &aigerim,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        view["request"]["problem"]["id"],
        problem_id.as_str(),
        "{view}"
    );
    let lines = c
        .find_all(Locator::Css(
            "#req-history tr[data-action='problem_linked']",
        ))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "one history line for the link");

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    mesh.finish().await;
}
