//! The departments' side of a request as the workspace sees it: the steps of an escalation
//! (events from the escalation service), the agent answering a department's question, and
//! problem records (linking, and a problem's resolution resolving its open requests once).

use std::sync::Arc;

use komek_domain::escalation::Tier;
use komek_domain::events::{Envelope, EscalationChanged, ProblemResolved, kind};
use komek_domain::problem::{Messages, ProblemStatus};
use komek_domain::{Channel, Lang, Request, RequestId};
use komek_store::Store;
use komek_store::problems::NewProblem;
use komek_web::testing::{Fixture, Stage, stored_request};
use redis::AsyncCommands;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{SignIn, TestApp, WAIT, create_request, problem, spawn_app};

/// An escalation step as the escalation service publishes it.
fn step(r: &Request, kind: &str, esc: Uuid, by: &str, detail: Option<&str>) -> Envelope {
    let payload = EscalationChanged {
        escalation_id: esc,
        number: r.number.clone(),
        department: "billing".into(),
        by: by.into(),
        detail: detail.map(str::to_owned),
        from_department: None,
        tier: None,
        due: None,
    };
    Envelope::new(kind, r.id, &payload, OffsetDateTime::now_utc())
}

/// The request's history actions, polled until `want` is among them.
async fn history_until(app: &TestApp, token: &str, id: RequestId, want: &str) -> Value {
    let (http, url, token) = (
        app.http.clone(),
        app.url(&format!("/api/v1/requests/{id}")),
        token.to_owned(),
    );
    komek_testkit::eventually(WAIT, &format!("history has {want}"), || {
        let req = http.get(&url).bearer_auth(&token);
        async move {
            let v: Value = req.send().await.ok()?.json().await.ok()?;
            v["history"]
                .as_array()?
                .iter()
                .any(|h| h["action"] == want)
                .then_some(v)
        }
    })
    .await
}

fn lines<'a>(view: &'a Value, action: &str) -> Vec<&'a Value> {
    view["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == action)
        .collect()
}

/// Billing accepts Aigerim's escalation and asks her something: the question is a note and a
/// history line by `billing:billing1`, and it waits on the request (the same event delivered twice
/// is applied once). Her answer to another escalation id is refused (409), Daniyar's is refused
/// (403), hers is taken (202: history `escalation_info_given`), and a second answer finds nothing
/// asked (409). The escalation is rerouted to finance (the request's escalation follows), breaches
/// (by `system:escalation`, with the tier) and is flagged; each is one history line.
#[tokio::test(flavor = "multi_thread")]
async fn escalation_steps_reach_the_request_and_the_agent_answers_once() {
    let mut app = spawn_app("ws-esc-steps").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    let daniyar = app.login("daniyar", "komek-agent").await;
    let esc = Uuid::now_v7();
    let r = stored_request(
        &app.store,
        "Деньги списали дважды",
        Channel::Web,
        Fixture {
            stage: Stage::Escalated {
                id: esc,
                department: "billing".into(),
                reason: "Двойное списание".into(),
                agent: "aigerim".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    app.store
        .enqueue_event(&step(&r, kind::ESCALATION_ACCEPTED, esc, "billing1", None))
        .await
        .unwrap();
    let asked = step(
        &r,
        kind::ESCALATION_INFO_REQUESTED,
        esc,
        "billing1",
        Some("Какого числа было списание?"),
    );
    app.store.enqueue_event(&asked).await.unwrap();
    app.store.enqueue_event(&asked).await.unwrap();
    let view = history_until(&app, &aigerim, r.id, "escalation_info_requested").await;
    let accepted = lines(&view, "escalation_accepted");
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["actor"], "billing:billing1");
    let question = lines(&view, "escalation_info_requested");
    assert_eq!(question.len(), 1, "a redelivered event is applied once");
    assert_eq!(question[0]["detail"], "Какого числа было списание?");
    let req = &view["request"];
    assert_eq!(req["status"], "escalated");
    assert_eq!(req["escalation"]["question"], "Какого числа было списание?");
    let note = req["notes"].as_array().unwrap().last().unwrap();
    assert_eq!(note["author"], "billing:billing1");
    assert_eq!(note["text"], "Какого числа было списание?");

    let info = |esc: Uuid| format!("/api/v1/requests/{}/escalations/{esc}/info", r.id);
    let body = json!({ "text": "12 ноября" });
    let p = problem(
        app.post(&info(Uuid::now_v7()), Some(&aigerim), &body).await,
        409,
    )
    .await;
    assert_eq!(p["code"], "escalation_not_current");
    problem(app.post(&info(esc), Some(&daniyar), &body).await, 403).await;
    let given = app.post(&info(esc), Some(&aigerim), &body).await;
    assert_eq!(given.status().as_u16(), 202);
    let given: Value = given.json().await.unwrap();
    assert!(given["escalation"]["question"].is_null(), "{given}");
    let p = problem(app.post(&info(esc), Some(&aigerim), &body).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("not asked"), "{p}");
    assert_eq!(p["code"], "nothing_asked");

    let mut rerouted = step(
        &r,
        kind::ESCALATION_REROUTED,
        esc,
        "billing1",
        Some("это вопрос финансов"),
    );
    rerouted.payload["department"] = json!("finance");
    rerouted.payload["from_department"] = json!("billing");
    let mut breached = step(
        &r,
        kind::ESCALATION_BREACHED,
        esc,
        "system:escalation",
        None,
    );
    breached.payload["department"] = json!("finance");
    breached.payload["tier"] = serde_json::to_value(Tier::SecondLine).unwrap();
    let flagged = step(
        &r,
        kind::ESCALATION_FLAGGED,
        esc,
        "system:escalation",
        Some("bounced 3 times: billing -> finance"),
    );
    for e in [&rerouted, &breached, &flagged] {
        app.store.enqueue_event(e).await.unwrap();
    }
    history_until(&app, &aigerim, r.id, "escalation_rerouted").await;
    history_until(&app, &aigerim, r.id, "escalation_breached").await;
    let view = history_until(&app, &aigerim, r.id, "escalation_flagged").await;
    assert_eq!(view["request"]["escalation"]["department"], "finance");
    let line = |a: &str| lines(&view, a)[0].clone();
    assert_eq!(line("escalation_info_given")["actor"], "aigerim");
    assert_eq!(line("escalation_info_given")["detail"], "12 ноября");
    assert_eq!(line("escalation_rerouted")["actor"], "billing:billing1");
    assert_eq!(
        line("escalation_rerouted")["detail"],
        "billing -> finance: это вопрос финансов"
    );
    assert_eq!(line("escalation_breached")["actor"], "system:escalation");
    assert_eq!(
        line("escalation_breached")["detail"],
        "finance: now second_line"
    );
    assert_eq!(line("escalation_flagged")["actor"], "system:escalation");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

async fn open_problem(store: &Store) -> komek_domain::problem::Problem {
    store
        .create_problem(
            NewProblem {
                title: "Нет связи в Алмалинском районе".into(),
                description: String::new(),
                department: Some("network".into()),
                category: None,
                region: None,
                status: ProblemStatus::Open,
                created_by: "network1".into(),
                spike: None,
            },
            |_| vec![],
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
        .unwrap()
}

fn resolved_event(p: &komek_domain::problem::Problem) -> Envelope {
    let payload = ProblemResolved {
        problem_id: p.id,
        number: p.number.clone(),
        title: p.title.clone(),
        by: "network1".into(),
        messages: Messages {
            kk: Some("Байланыс қалпына келтірілді".into()),
            ru: Some("Связь восстановлена".into()),
            en: None,
        },
        department: Some("network".into()),
        proposed_by: None,
    };
    Envelope::new(
        kind::PROBLEM_RESOLVED,
        RequestId(Uuid::nil()),
        &payload,
        OffsetDateTime::now_utc(),
    )
}

/// Agents see open problems. The supervisor links a Kazakh request Aigerim took, a queued English
/// one (the problem has no English text: the Russian one is used; Aigerim may not link it, 403),
/// an escalated one, and not a resolved one (409); another problem cannot take a linked request
/// (409), an unknown problem is 404. The requests show the problem.
/// One linked request is unlinked again. The problem's resolution (delivered twice, and applied
/// by two handlers at once as two replicas would) resolves each open linked request exactly once
/// with the text in its language: out of the queue, the owner's set and the deadline index,
/// history `resolved_by_problem`. The unlinked request stays open.
#[tokio::test(flavor = "multi_thread")]
async fn a_resolved_problem_resolves_its_open_requests_once() {
    let mut app = spawn_app("ws-problem").await;
    let saule = app.login("saule", "komek-super").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    let store = app.store.clone();
    let kk = stored_request(
        &store,
        "Сәлеметсіз бе, байланыс жоқ",
        Channel::Sms,
        Fixture {
            language: Some(Lang::Kk),
            ..Fixture::default()
        },
    )
    .await;
    let en = create_request(&store, "Hello, there is no signal at all").await;
    let unlinked = create_request(&store, "Нет связи с утра").await;
    komek_testkit::eventually(WAIT, "the consumer queues the new requests", || {
        let store = store.clone();
        async move { (store.queue_len().await.unwrap() == 3).then_some(()) }
    })
    .await;
    // Aigerim takes the most urgent: the Kazakh one (the oldest of equal priority).
    let taken: Value = app
        .post("/api/v1/queue/next", Some(&aigerim), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(taken["id"], kk.id.to_string());
    let escalated = stored_request(
        &store,
        "Нет связи, и деньги списали",
        Channel::Web,
        Fixture {
            stage: Stage::Escalated {
                id: Uuid::now_v7(),
                department: "network".into(),
                reason: "авария".into(),
                agent: "aigerim".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    let closed = stored_request(
        &store,
        "Нет связи",
        Channel::Web,
        Fixture {
            stage: Stage::Resolved {
                agent: "aigerim".into(),
                resolution: "Перезагрузите телефон".into(),
            },
            ..Fixture::default()
        },
    )
    .await;
    let p = open_problem(&store).await;
    let other = open_problem(&store).await;

    let listed: Value = app
        .get("/api/v1/problems", Some(&aigerim))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["number"] == p.number)
    );

    let link = |id: RequestId, problem: Uuid, token: &str| {
        let (app, token) = (&app, token.to_owned());
        async move {
            app.post(
                &format!("/api/v1/requests/{id}/problem"),
                Some(&token),
                &json!({ "problem_id": problem }),
            )
            .await
        }
    };
    for r in [&kk, &en, &escalated, &unlinked] {
        let resp = link(r.id, p.id, &saule).await;
        assert_eq!(resp.status().as_u16(), 200, "{}", r.number);
    }
    let again: Value = link(kk.id, p.id, &aigerim).await.json().await.unwrap();
    assert_eq!(again["already"], true);
    problem(link(en.id, p.id, &aigerim).await, 403).await;
    let closed_refused = problem(link(closed.id, p.id, &saule).await, 409).await;
    assert_eq!(closed_refused["code"], "request_not_open");
    let refused = problem(link(kk.id, other.id, &saule).await, 409).await;
    assert_eq!(refused["code"], "linked_elsewhere");
    assert!(
        refused["detail"].as_str().unwrap().contains(&p.number),
        "{refused}"
    );
    problem(link(kk.id, Uuid::now_v7(), &saule).await, 404).await;

    let view = history_until(&app, &saule, kk.id, "problem_linked").await;
    assert_eq!(view["request"]["problem"]["number"], p.number.as_str());
    assert_eq!(lines(&view, "problem_linked")[0]["actor"], "saule");
    store
        .unlink_request(p.id, unlinked.id, "saule", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let view = history_until(&app, &saule, unlinked.id, "problem_unlinked").await;
    assert!(view["request"]["problem"].is_null(), "{}", view["request"]);
    for r in [&en, &escalated] {
        history_until(&app, &saule, r.id, "problem_linked").await;
    }

    // The resolution, as the escalation service publishes it, twice; and applied by two
    // handlers at once beside the app's own consumer.
    let event = resolved_event(&p);
    store.enqueue_event(&event).await.unwrap();
    store.enqueue_event(&event).await.unwrap();
    let deps = Arc::new(komek_workspace::Deps {
        store: store.clone(),
        settings: app.settings.clone(),
        calendar: komek_domain::calendar::always_open(),
    });
    let (a, b) = tokio::join!(
        komek_workspace::consumer::handle(deps.clone(), event.clone()),
        komek_workspace::consumer::handle(deps.clone(), event.clone()),
    );
    assert!(a.is_ok() && b.is_ok());

    for (r, text) in [
        (&kk, "Байланыс қалпына келтірілді"),
        (&en, "Связь восстановлена"),
        (&escalated, "Связь восстановлена"),
    ] {
        let view = history_until(&app, &saule, r.id, "resolved_by_problem").await;
        let req = &view["request"];
        assert_eq!(req["status"], "resolved", "{}", r.number);
        assert_eq!(req["resolution"], text);
        assert!(req["escalation"].is_null());
        let last = req["messages"].as_array().unwrap().last().unwrap();
        assert_eq!(
            (&last["kind"], &last["text"]),
            (&json!("resolution"), &json!(text))
        );
        let line = lines(&view, "resolved_by_problem");
        assert_eq!(line.len(), 1, "{} resolved once", r.number);
        assert_eq!(line[0]["actor"], "network1");
        assert_eq!(line[0]["detail"], format!("{}: {text}", p.number));
    }
    let mut c = store.conn();
    let mine: Vec<String> = c.smembers(store.keys().owned_by("aigerim")).await.unwrap();
    assert!(
        !mine.contains(&kk.id.to_string()),
        "out of her open requests"
    );
    let deadlines: Vec<String> = c.zrange(store.keys().deadlines(), 0, -1).await.unwrap();
    for r in [&kk, &en, &escalated] {
        assert!(
            !deadlines.iter().any(|d| d.starts_with(&r.id.to_string())),
            "no deadline left for {}",
            r.number
        );
    }
    let queued: Vec<String> = c.zrange(store.keys().queue(), 0, -1).await.unwrap();
    assert_eq!(
        queued,
        [unlinked.id.to_string()],
        "only the unlinked one waits"
    );
    let closed_view = history_until(&app, &saule, closed.id, "resolved").await;
    assert!(lines(&closed_view, "resolved_by_problem").is_empty());

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A department's proposed resolution reaches no customer until a supervisor approves it here:
/// the supervisors' list shows the proposal; an agent may not approve (403), nor may anyone
/// approve a proposal other than the one standing (409); the supervisor's approval resolves the
/// problem (by the supervisor) and the workspace resolves the linked request with the proposed
/// text; a second approval is 409.
#[tokio::test(flavor = "multi_thread")]
async fn a_supervisor_approves_a_departments_proposal() {
    let mut app = spawn_app("ws-problem-approve").await;
    let saule = app.login("saule", "komek-super").await;
    let aigerim = app.login("aigerim", "komek-agent").await;
    let store = app.store.clone();
    let r = create_request(&store, "Нет связи с утра").await;
    komek_testkit::eventually(WAIT, "the consumer queues the request", || {
        let store = store.clone();
        async move { (store.queue_len().await.unwrap() == 1).then_some(()) }
    })
    .await;
    let p = open_problem(&store).await;
    store
        .link_requests(p.id, &[r.id], "network1", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let proposal = Uuid::now_v7();
    let text = "Связь восстановлена, извините";
    store
        .update_doc(
            &store.keys().problem(p.id),
            |x: &mut komek_domain::problem::Problem| {
                let messages = Messages {
                    ru: Some(text.into()),
                    ..Messages::default()
                };
                x.propose(proposal, "network1", messages, OffsetDateTime::now_utc())
                    .map(|()| (None, vec![]))
            },
        )
        .await
        .unwrap();

    let listed: Value = app
        .get("/api/v1/problems", Some(&saule))
        .await
        .json()
        .await
        .unwrap();
    let shown = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == p.id.to_string())
        .unwrap();
    assert_eq!(shown["proposal"]["id"], proposal.to_string(), "{shown}");
    assert_eq!(shown["proposal"]["messages"]["ru"], text);

    let approve = format!("/api/v1/problems/{}/approve", p.id);
    let by_agent = problem(
        app.post(
            &approve,
            Some(&aigerim),
            &json!({ "proposal_id": proposal }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(by_agent["code"], "forbidden");
    let other = problem(
        app.post(
            &approve,
            Some(&saule),
            &json!({ "proposal_id": Uuid::now_v7() }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(other["code"], "conflict");
    let view = store.request(r.id).await.unwrap().unwrap();
    assert_ne!(
        view.status.as_str(),
        "resolved",
        "nothing sent before the approval"
    );

    let done = app
        .post(&approve, Some(&saule), &json!({ "proposal_id": proposal }))
        .await;
    assert_eq!(done.status().as_u16(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["resolved_by"], "saule");
    let view = history_until(&app, &saule, r.id, "resolved_by_problem").await;
    assert_eq!(view["request"]["resolution"], text);
    assert_eq!(lines(&view, "resolved_by_problem")[0]["actor"], "saule");
    let again = problem(
        app.post(&approve, Some(&saule), &json!({ "proposal_id": proposal }))
            .await,
        409,
    )
    .await;
    assert_eq!(again["code"], "invalid_problem_transition");

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
