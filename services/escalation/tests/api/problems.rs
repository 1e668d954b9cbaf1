//! Problem records over HTTP: opened by a department, requests linked by number, another
//! department's staff kept out (404 as for an unknown id), resolved with one message per language.
//! What each caller may link and see of a problem's requests, and a department's resolution
//! waiting for a supervisor's approval (docs/security.md, "2. Problems reach any request").

use komek_domain::events::{ProblemEvent, ProblemResolved, kind};
use komek_domain::staff::Role;
use komek_domain::{Category, Channel, Lang, Request};
use komek_store::Store;
use komek_web::testing::{Fixture, Stage, stored_request};
use serde_json::{Value, json};

use crate::helpers::{StaffTokens, TestApp, departments, drain_until, fields, ok_json, problem};

/// The service with spike detection off: these tests store requests of one category in a burst.
async fn spawn_quiet(tag: &str) -> TestApp {
    let mut settings = komek_testkit::test_settings(tag);
    settings.spikes.enabled = false;
    komek_web::testing::spawn(settings, komek_escalation::startup::build).await
}

async fn new_request(store: &Store, text: &str, lang: Lang) -> Request {
    stored_request(
        store,
        text,
        Channel::Web,
        Fixture {
            language: Some(lang),
            category: Category::Network,
            ..Fixture::default()
        },
    )
    .await
}

/// Links `requests` by number as `token` to the problem whose `/requests` path is `link`: the
/// 200 answer.
async fn link_numbers(app: &TestApp, link: &str, token: &str, requests: &[&Request]) -> Value {
    let numbers: Vec<&str> = requests.iter().map(|r| r.number.0.as_str()).collect();
    ok_json(
        app.post(link, Some(token), &json!({ "numbers": numbers }))
            .await,
        200,
    )
    .await
}

async fn open_problem(app: &TestApp, token: &str) -> Value {
    let created = app
        .post(
            "/api/v1/problems",
            Some(token),
            &json!({ "title": "No coverage in Almaty, Bostandyk since 10:00", "category": "network" }),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    created.json().await.unwrap()
}

/// Network staff open a problem (their department, numbered `P-…`, `problem.opened`); a
/// supervisor links three requests by number (one twice: `already`), an unknown number is 422
/// naming `numbers[1]`; the problem shows its requests; a request of another open problem is
/// refused; unlinking frees it; a supervisor needs a department for a category-less problem.
#[tokio::test(flavor = "multi_thread")]
async fn open_and_link_by_numbers() {
    let mut app = spawn_quiet("esc-problems-link").await;
    departments(&app.store, &["network", "billing"]).await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let supervisor = app.staff("boss", Role::Supervisor, None, 1).await;

    let p = open_problem(&app, &network).await;
    assert_eq!(p["department"], "network");
    assert_eq!(p["status"], "open");
    assert_eq!(p["created_by"], "network1");
    assert!(p["number"].as_str().unwrap().starts_with("P-"), "{p}");
    let id = p["id"].as_str().unwrap().to_owned();

    let a = new_request(&app.store, "Нет связи", Lang::Ru).await;
    let b = new_request(&app.store, "Байланыс жоқ", Lang::Kk).await;
    let c = new_request(&app.store, "No signal", Lang::En).await;
    let link = format!("/api/v1/problems/{id}/requests");

    let bad = problem(
        app.post(
            &link,
            Some(&supervisor),
            &json!({ "numbers": [a.number.0, "KM-000000-999999"] }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&bad), ["numbers[1]"], "{bad}");
    let empty = problem(
        app.post(&link, Some(&supervisor), &json!({ "numbers": [] }))
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&empty), ["numbers"]);

    let out = link_numbers(&app, &link, &supervisor, &[&a, &b, &a]).await;
    assert_eq!(
        (out["linked"].as_u64(), out["already"].as_u64()),
        (Some(2), Some(0)),
        "{out}"
    );
    let out = link_numbers(&app, &link, &network, &[&a, &c]).await;
    assert_eq!(
        (out["linked"].as_u64(), out["already"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    assert_eq!(out["problem"]["linked"], 3);

    let view: Value = app
        .get(&format!("/api/v1/problems/{id}"), Some(&supervisor))
        .await
        .json()
        .await
        .unwrap();
    let mut numbers: Vec<&str> = view["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    numbers.sort_unstable();
    let mut want = [
        a.number.0.as_str(),
        b.number.0.as_str(),
        c.number.0.as_str(),
    ];
    want.sort_unstable();
    assert_eq!(numbers, want);
    assert_eq!(view["more"], false);
    assert_eq!(view["requests"][0]["category"], "network");

    // Another open problem may not take a request of this one; once unlinked, it may.
    let other = open_problem(&app, &network).await;
    let other_link = format!(
        "/api/v1/problems/{}/requests",
        other["id"].as_str().unwrap()
    );
    let out = link_numbers(&app, &other_link, &supervisor, &[&a]).await;
    assert_eq!(out["linked"], 0);
    assert_eq!(out["refused"][0]["number"], a.number.0.as_str());
    assert_eq!(out["refused"][0]["problem_id"], id.as_str());
    let unlink = app
        .delete(&format!("{link}/{}", a.number.0), Some(&network))
        .await;
    assert_eq!(unlink.status().as_u16(), 204);
    let out = link_numbers(&app, &other_link, &supervisor, &[&a]).await;
    assert_eq!(out["linked"], 1, "{out}");

    let none = problem(
        app.post(
            "/api/v1/problems",
            Some(&supervisor),
            &json!({ "title": "Something odd" }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&none), ["department"]);

    // Each link and the unlink is an event about its request (with the three requests' own
    // request.created, eight in the workspace's queue); opening is about no request.
    let events = drain_until(&app.settings, "workspace", 8).await;
    let linked: Vec<_> = events
        .iter()
        .filter(|e| e.kind == kind::PROBLEM_LINKED)
        .map(|e| e.request_id)
        .collect();
    assert_eq!(linked.len(), 4, "{events:?}");
    assert!(linked.contains(&c.id));
    let unlinked: Vec<ProblemEvent> = events
        .iter()
        .filter(|e| e.kind == kind::PROBLEM_UNLINKED)
        .map(|e| e.payload().unwrap())
        .collect();
    assert_eq!(unlinked.len(), 1);
    assert_eq!(unlinked[0].by, "network1");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Billing staff get 404 for network's problem on every route, as for a guessed id; their list
/// does not show it; a supervisor sees it.
#[tokio::test(flavor = "multi_thread")]
async fn another_department_gets_404() {
    let mut app = spawn_quiet("esc-problems-isolation").await;
    departments(&app.store, &["network", "billing"]).await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 3)
        .await;
    let supervisor = app.staff("boss", Role::Supervisor, None, 1).await;
    let p = open_problem(&app, &network).await;
    let id = p["id"].as_str().unwrap();
    let r = new_request(&app.store, "Нет связи", Lang::Ru).await;

    for guessed in [id.to_owned(), uuid::Uuid::now_v7().to_string(), "x".into()] {
        let base = format!("/api/v1/problems/{guessed}");
        let calls = [
            app.get(&base, Some(&billing)).await,
            app.post(
                &format!("{base}/requests"),
                Some(&billing),
                &json!({ "numbers": [r.number.0] }),
            )
            .await,
            app.post(&format!("{base}/confirm"), Some(&billing), &json!({}))
                .await,
            app.post(&format!("{base}/dismiss"), Some(&billing), &json!({}))
                .await,
            app.post(
                &format!("{base}/resolve"),
                Some(&billing),
                &json!({ "messages": { "ru": "Готово" } }),
            )
            .await,
            app.post(
                &format!("{base}/approve"),
                Some(&billing),
                &json!({ "proposal_id": uuid::Uuid::now_v7() }),
            )
            .await,
            app.delete(&format!("{base}/requests/{}", r.number.0), Some(&billing))
                .await,
        ];
        for res in calls {
            let url = res.url().to_string();
            let p = problem(res, 404).await;
            assert_eq!(p["code"], "not_found", "{url}");
        }
    }
    let listed: Vec<Value> = app
        .get("/api/v1/problems?status=all", Some(&billing))
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let listed: Vec<Value> = app
        .get("/api/v1/problems?department=network", Some(&supervisor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(
        app.get(&format!("/api/v1/problems/{id}"), Some(&supervisor))
            .await
            .status()
            .as_u16(),
        200
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Resolving needs a text for every language of a linked open request (422 naming
/// `messages.kk`). The department's resolution is a proposal (202, still open, `proposal` set,
/// nothing for the workspace); a supervisor approves the proposal they read (403 for the
/// department, 409 for another proposal id); then `problem.resolved` reaches the workspace's
/// queue with the messages and a nil request id, the problem is resolved by the supervisor, and
/// it cannot be approved or resolved again (409).
#[tokio::test(flavor = "multi_thread")]
async fn resolve_publishes_the_messages() {
    let mut app = spawn_quiet("esc-problems-resolve").await;
    departments(&app.store, &["network"]).await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let agent = app.staff("aigerim", Role::Agent, None, 1).await;
    let supervisor = app.staff("boss", Role::Supervisor, None, 1).await;
    let p = open_problem(&app, &network).await;
    let id = p["id"].as_str().unwrap();
    let ru = new_request(&app.store, "Нет связи", Lang::Ru).await;
    let kk = new_request(&app.store, "Байланыс жоқ", Lang::Kk).await;
    let link = format!("/api/v1/problems/{id}/requests");
    link_numbers(&app, &link, &network, &[&ru, &kk]).await;
    let resolve = format!("/api/v1/problems/{id}/resolve");
    let approve = format!("/api/v1/problems/{id}/approve");

    let forbidden = problem(
        app.post(
            &resolve,
            Some(&agent),
            &json!({ "messages": { "ru": "x" } }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(forbidden["code"], "forbidden");
    let missing = problem(
        app.post(
            &resolve,
            Some(&network),
            &json!({ "messages": { "ru": "Связь восстановлена", "kk": "  " } }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&missing), ["messages.kk"], "{missing}");
    let none = problem(
        app.post(
            &approve,
            Some(&supervisor),
            &json!({ "proposal_id": uuid::Uuid::now_v7() }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(none["code"], "invalid_problem_transition", "{none}");

    let messages = json!({ "ru": "Связь восстановлена", "kk": "Байланыс қалпына келді" });
    let proposed = ok_json(
        app.post(&resolve, Some(&network), &json!({ "messages": messages }))
            .await,
        202,
    )
    .await;
    assert_eq!(proposed["status"], "open", "{proposed}");
    assert_eq!(proposed["proposal"]["by"], "network1");
    assert_eq!(proposed["proposal"]["messages"], messages);
    assert!(proposed.get("resolved_by").is_none(), "{proposed}");
    let proposal_id = proposed["proposal"]["id"].as_str().unwrap().to_owned();

    let by_department = problem(
        app.post(
            &approve,
            Some(&network),
            &json!({ "proposal_id": proposal_id }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(by_department["code"], "forbidden");
    let replaced = problem(
        app.post(
            &approve,
            Some(&supervisor),
            &json!({ "proposal_id": uuid::Uuid::now_v7() }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(replaced["code"], "conflict", "{replaced}");

    let done = ok_json(
        app.post(
            &approve,
            Some(&supervisor),
            &json!({ "proposal_id": proposal_id }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolved_by"], "boss");
    assert_eq!(done["resolution"], messages);
    assert_eq!(done["proposal"]["by"], "network1");
    for (path, body) in [
        (&approve, json!({ "proposal_id": proposal_id })),
        (&resolve, json!({ "messages": messages })),
    ] {
        let again = problem(app.post(path, Some(&supervisor), &body).await, 409).await;
        assert_eq!(again["code"], "invalid_problem_transition", "{path}");
    }

    // Two request.created, two problem.linked, then problem.resolved (the proposal is for the
    // pages only: the workspace's queue never sees it).
    let events = drain_until(&app.settings, "workspace", 5).await;
    let resolved: Vec<_> = events
        .iter()
        .filter(|e| e.kind == kind::PROBLEM_RESOLVED)
        .collect();
    assert_eq!(resolved.len(), 1, "resolved once, one event");
    assert!(resolved[0].request_id.0.is_nil());
    let payload: ProblemResolved = resolved[0].payload().unwrap();
    assert_eq!(payload.problem_id.to_string(), id);
    assert_eq!(
        payload.messages.get(Lang::Kk),
        Some("Байланыс қалпына келді")
    );
    assert_eq!(payload.messages.get(Lang::Ru), Some("Связь восстановлена"));
    assert_eq!(payload.by, "boss");
    assert_eq!(payload.proposed_by.as_deref(), Some("network1"));
    assert_eq!(payload.department.as_deref(), Some("network"));

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A supervisor's own resolution is sent at once (200, resolved, `problem.resolved` by them).
#[tokio::test(flavor = "multi_thread")]
async fn a_supervisor_resolves_at_once() {
    let mut app = spawn_quiet("esc-problems-supervisor-resolves").await;
    departments(&app.store, &["network"]).await;
    let supervisor = app.staff("boss", Role::Supervisor, None, 1).await;
    let p = open_problem(&app, &supervisor).await;
    let id = p["id"].as_str().unwrap();
    let ru = new_request(&app.store, "Нет связи", Lang::Ru).await;
    link_numbers(
        &app,
        &format!("/api/v1/problems/{id}/requests"),
        &supervisor,
        &[&ru],
    )
    .await;
    let done = ok_json(
        app.post(
            &format!("/api/v1/problems/{id}/resolve"),
            Some(&supervisor),
            &json!({ "messages": { "ru": "Связь восстановлена" } }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolved_by"], "boss");
    assert!(done.get("proposal").is_none(), "{done}");
    let events = drain_until(&app.settings, "workspace", 3).await;
    let resolved: Vec<ProblemResolved> = events
        .iter()
        .filter(|e| e.kind == kind::PROBLEM_RESOLVED)
        .map(|e| e.payload().unwrap())
        .collect();
    assert_eq!(resolved.len(), 1, "{events:?}");
    assert_eq!(resolved[0].by, "boss");
    assert_eq!(resolved[0].proposed_by, None);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A request of `category` from `msisdn`, as intake stores it, or escalated by aigerim (who
/// then owns it) to `escalated_to`.
async fn request_of(
    store: &Store,
    text: &str,
    category: Category,
    escalated_to: Option<&str>,
) -> Request {
    let stage = match escalated_to {
        None => Stage::Created,
        Some(d) => Stage::Escalated {
            id: uuid::Uuid::now_v7(),
            department: d.to_owned(),
            reason: "Проверьте".into(),
            agent: "aigerim".into(),
        },
    };
    stored_request(
        store,
        text,
        Channel::Sms,
        Fixture {
            msisdn: "+77017654321",
            language: Some(Lang::Ru),
            category,
            stage,
            ..Fixture::default()
        },
    )
    .await
}

/// Network staff link only requests network reaches: of its categories (network, internet) or
/// escalated to it. A call with one billing request among them is refused whole (403, `errors`
/// naming `numbers[1]`) and links nothing; agents link only requests they own; a supervisor links
/// any, and unlinking one network does not reach is refused too.
#[tokio::test(flavor = "multi_thread")]
async fn who_may_link_what() {
    let mut app = spawn_quiet("esc-problems-who-links").await;
    departments(&app.store, &["network", "billing"]).await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let agent = app.staff("aigerim", Role::Agent, None, 1).await;
    let other_agent = app.staff("daniyar", Role::Agent, None, 1).await;
    let supervisor = app.staff("boss", Role::Supervisor, None, 1).await;
    let p = open_problem(&app, &network).await;
    let id = p["id"].as_str().unwrap();
    let link = format!("/api/v1/problems/{id}/requests");

    let internet = request_of(&app.store, "Интернет не работает", Category::Internet, None).await;
    let billing = request_of(&app.store, "Списали деньги дважды", Category::Billing, None).await;
    let to_network = request_of(
        &app.store,
        "Деньги списали, а связи нет",
        Category::Billing,
        Some("network"),
    )
    .await;
    let to_billing = request_of(
        &app.store,
        "Верните деньги",
        Category::Billing,
        Some("billing"),
    )
    .await;

    let numbers =
        |rs: &[&Request]| -> Vec<String> { rs.iter().map(|r| r.number.0.clone()).collect() };
    let refused = problem(
        app.post(
            &link,
            Some(&network),
            &json!({ "numbers": numbers(&[&internet, &billing, &to_network, &to_billing]) }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(refused["code"], "forbidden");
    assert_eq!(fields(&refused), ["numbers[1]", "numbers[3]"], "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&billing.number.0),
        "{refused}"
    );
    for r in [&internet, &billing, &to_network, &to_billing] {
        assert_eq!(
            app.store.problem_id_of(r.id).await.unwrap(),
            None,
            "nothing linked"
        );
    }

    let out = link_numbers(&app, &link, &network, &[&internet, &to_network]).await;
    assert_eq!(out["linked"], 2, "{out}");

    // Agents: what they own (aigerim escalated `to_billing`), not another agent's or the queue's.
    let by_other = problem(
        app.post(
            &link,
            Some(&other_agent),
            &json!({ "numbers": numbers(&[&to_billing]) }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(fields(&by_other), ["numbers[0]"]);
    let unowned = problem(
        app.post(
            &link,
            Some(&agent),
            &json!({ "numbers": numbers(&[&billing]) }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(fields(&unowned), ["numbers[0]"]);
    let out = link_numbers(&app, &link, &agent, &[&to_billing]).await;
    assert_eq!(out["linked"], 1, "{out}");

    let out = link_numbers(&app, &link, &supervisor, &[&billing]).await;
    assert_eq!(out["linked"], 1, "supervisors link any request: {out}");
    assert_eq!(out["problem"]["linked"], 4);

    let unlink = problem(
        app.delete(&format!("{link}/{}", billing.number.0), Some(&network))
            .await,
        403,
    )
    .await;
    assert_eq!(unlink["code"], "forbidden");
    assert_eq!(
        app.store
            .problem_id_of(billing.id)
            .await
            .unwrap()
            .map(|u| u.to_string()),
        Some(id.to_owned()),
        "still linked"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A problem as network staff see it: the requests network reaches described, the two billing
/// requests a supervisor linked counted in `hidden` and described nowhere in the answer (no
/// number, status, channel or category of theirs); a supervisor sees all four.
#[tokio::test(flavor = "multi_thread")]
async fn a_department_sees_only_what_it_reaches() {
    let mut app = spawn_quiet("esc-problems-who-sees").await;
    departments(&app.store, &["network", "billing"]).await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let supervisor = app.staff("boss", Role::Supervisor, None, 1).await;
    let p = open_problem(&app, &network).await;
    let id = p["id"].as_str().unwrap();
    let link = format!("/api/v1/problems/{id}/requests");
    let internet = request_of(&app.store, "Интернет не работает", Category::Internet, None).await;
    let to_network = request_of(
        &app.store,
        "Деньги списали, а связи нет",
        Category::Billing,
        Some("network"),
    )
    .await;
    let billing = request_of(&app.store, "Списали деньги дважды", Category::Billing, None).await;
    let to_billing = request_of(
        &app.store,
        "Верните деньги",
        Category::Billing,
        Some("billing"),
    )
    .await;
    link_numbers(
        &app,
        &link,
        &supervisor,
        &[&internet, &to_network, &billing, &to_billing],
    )
    .await;

    let view = ok_json(
        app.get(&format!("/api/v1/problems/{id}"), Some(&network))
            .await,
        200,
    )
    .await;
    let shown: Vec<&str> = view["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown,
        [internet.number.0.as_str(), to_network.number.0.as_str()],
        "{view}"
    );
    assert_eq!(view["hidden"], 2, "{view}");
    assert_eq!(view["more"], false);
    assert_eq!(view["problem"]["linked"], 4, "counted");
    let raw = view.to_string();
    for hidden in [&billing, &to_billing] {
        assert!(!raw.contains(&hidden.number.0), "{raw}");
        assert!(!raw.contains(&hidden.id.to_string()), "{raw}");
    }
    // Every request described is one network reaches; nothing else carries a status, channel
    // or category.
    assert_eq!(view["requests"].as_array().unwrap().len(), 2);

    let all = ok_json(
        app.get(&format!("/api/v1/problems/{id}"), Some(&supervisor))
            .await,
        200,
    )
    .await;
    assert_eq!(all["requests"].as_array().unwrap().len(), 4, "{all}");
    assert_eq!(all["hidden"], 0);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
