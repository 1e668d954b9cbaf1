//! Rejections reroute an escalation to the department it belongs to; one bounced too often is
//! flagged for the quality team. Heads (and supervisors) see their department's figures.

use komek_domain::escalation::Tier;
use komek_domain::events::{EscalationChanged, kind};
use komek_domain::staff::Role;
use komek_store::Op;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::helpers::{
    StaffTokens, TestApp, act, alter, departments, drain_until, escalate, fields, problem,
    spawn_app,
};

/// The holder of `token` rejects escalation `id` to `to`; returns the escalation as it is now.
async fn reject(app: &TestApp, token: &str, id: Uuid, to: &str) -> Value {
    let body = json!({ "reason": format!("Это к {to}"), "department": to });
    act(app, token, id, "reject", &body).await
}

/// Billing rejects an escalation to network: it is network's now (open, first line, nobody's,
/// with network's deadline), billing gets 404 for it and network lists it. Rejecting to billing
/// itself, to a department that does not exist, or without a reason is 422 naming the field.
/// Bounced back and forth until it exceeds `escalation.max_bounces`, it is flagged: the
/// supervisors' `/api/v1/quality/bounced` lists it with its whole path (department staff get
/// 403 there). The workspace's queue gets one `escalation.rerouted` per rejection, naming the
/// department it came from, and one `escalation.flagged` with the path.
#[tokio::test(flavor = "multi_thread")]
async fn rerouted_and_flagged_when_bounced_too_often() {
    let mut app = spawn_app("esc-bounce").await;
    departments(&app.store, &["billing", "network"]).await;
    let (request, esc) = escalate(&app.store, "billing").await;
    let billing = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let network = app
        .staff("network1", Role::DepartmentStaff, Some("network"), 1)
        .await;
    let path = format!("/api/v1/escalations/{esc}/reject");
    for (body, field) in [
        (
            json!({ "reason": "Не наше", "department": "billing" }),
            "department",
        ),
        (
            json!({ "reason": "Не наше", "department": "nowhere" }),
            "department",
        ),
        (json!({ "reason": " ", "department": "network" }), "reason"),
    ] {
        let p = problem(app.post(&path, Some(&billing), &body).await, 422).await;
        assert_eq!(fields(&p), [field], "{body}");
    }
    act(&app, &billing, esc, "accept", &json!({})).await;

    let moved = reject(&app, &billing, esc, "network").await;
    assert_eq!(
        (
            &moved["department"],
            &moved["status"],
            &moved["tier"],
            &moved["bounces"]
        ),
        (
            &json!("network"),
            &json!("open"),
            &json!("first_line"),
            &json!(1)
        )
    );
    assert!(moved["assignee"].is_null() && moved["due_at"].is_string());
    problem(
        app.get(&format!("/api/v1/escalations/{esc}"), Some(&billing))
            .await,
        404,
    )
    .await;
    let network_list: Vec<Value> = app
        .get("/api/v1/escalations", Some(&network))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(network_list.len(), 1);
    assert_eq!(network_list[0]["id"], esc.to_string());

    let max = app.settings.escalation.max_bounces;
    let mut last = moved;
    for n in 2..=max + 1 {
        let (token, to) = if n % 2 == 0 {
            (&network, "billing")
        } else {
            (&billing, "network")
        };
        last = reject(&app, token, esc, to).await;
        assert_eq!(last["flagged"], n > max, "after {n} bounces");
    }
    let expected_path: Vec<&str> = (0..=max + 1)
        .map(|i| if i % 2 == 0 { "billing" } else { "network" })
        .collect();
    assert_eq!(last["path"], json!(expected_path));

    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    let flagged: Vec<Value> = app
        .get("/api/v1/quality/bounced", Some(&saule))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["id"], esc.to_string());
    assert_eq!(flagged[0]["path"], json!(expected_path));
    let steps = flagged[0]["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["action"], "flagged");
    problem(
        app.get("/api/v1/quality/bounced", Some(&billing)).await,
        403,
    )
    .await;

    // One acceptance, a reroute per rejection, one flag.
    let n = usize::try_from(max).unwrap() + 1;
    let events = drain_until(&app.settings, "workspace", n + 2).await;
    let rerouted: Vec<EscalationChanged> = events
        .iter()
        .filter(|e| e.kind == kind::ESCALATION_REROUTED)
        .map(|e| e.payload().unwrap())
        .collect();
    assert_eq!(rerouted.len(), n);
    assert_eq!(
        (
            rerouted[0].from_department.as_deref(),
            rerouted[0].department.as_str(),
            rerouted[0].by.as_str()
        ),
        (Some("billing"), "network", "billing1")
    );
    let flag: Vec<_> = events
        .iter()
        .filter(|e| e.kind == kind::ESCALATION_FLAGGED)
        .collect();
    assert_eq!(flag.len(), 1);
    assert_eq!(flag[0].request_id, request.id);
    let flag: EscalationChanged = flag[0].payload().unwrap();
    assert_eq!(flag.detail, Some(expected_path.join(" -> ")));

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Billing's head looks at the department's figures. Three escalations were answered, taking 10,
/// 20 and 60 minutes, the slowest after a breached deadline; one is accepted and one is open and
/// overdue; one more bounced through billing until it was flagged and is network's now. So:
/// 2 active (1 open, 1 accepted, both first line), 1 overdue, 1 breach, 3 answered in 7 and 30
/// days, median 20 minutes, p90 60, two thirds within the deadline, 1 bounced. First-line staff
/// get 403; the network head asking for billing's gets 404; a supervisor names the department.
#[tokio::test(flavor = "multi_thread")]
async fn a_heads_figures() {
    let mut app = spawn_app("esc-stats").await;
    departments(&app.store, &["billing", "network"]).await;
    let head = app
        .staff("billing3", Role::DepartmentStaff, Some("billing"), 3)
        .await;
    let network_head = app
        .staff("network3", Role::DepartmentStaff, Some("network"), 3)
        .await;
    let now = OffsetDateTime::now_utc();

    for minutes in [10, 20, 60] {
        let (_, id) = escalate(&app.store, "billing").await;
        let breached = minutes == 60;
        alter(&app.store, id, |e| {
            e.created_at = now - Duration::minutes(minutes);
            if breached {
                e.breaches = 1;
                e.tier = Tier::SecondLine;
            }
        })
        .await;
        if breached {
            // As the watcher records a breach, in the escalation's commit.
            let key = app.store.keys().department_breached("billing");
            app.store
                .update_doc(
                    &app.store.keys().escalation(id),
                    |_: &mut komek_domain::escalation::Escalation| {
                        Ok::<_, std::convert::Infallible>((
                            None,
                            vec![Op::ZAdd {
                                key: key.clone(),
                                member: id.to_string(),
                                score: 1,
                            }],
                        ))
                    },
                )
                .await
                .unwrap();
        }
        act(&app, &head, id, "answer", &json!({ "text": "Готово" })).await;
    }
    let (_, accepted) = escalate(&app.store, "billing").await;
    act(&app, &head, accepted, "accept", &json!({})).await;
    let (_, overdue) = escalate(&app.store, "billing").await;
    alter(&app.store, overdue, |e| {
        e.due_at = Some(now - Duration::minutes(1))
    })
    .await;
    let (_, bounced) = escalate(&app.store, "billing").await;
    for n in 1..=app.settings.escalation.max_bounces + 1 {
        let (token, to) = if n % 2 == 1 {
            (&head, "network")
        } else {
            (&network_head, "billing")
        };
        reject(&app, token, bounced, to).await;
    }

    let stats: Value = app
        .get("/api/v1/department/stats", Some(&head))
        .await
        .json()
        .await
        .unwrap();
    let ends_in_network = app.settings.escalation.max_bounces % 2 == 0;
    assert_eq!(stats["department"], "billing");
    assert_eq!(
        stats["active"],
        if ends_in_network { 2 } else { 3 },
        "{stats}"
    );
    assert_eq!(stats["by_status"]["accepted"], 1);
    assert_eq!(stats["by_status"]["info_requested"], 0);
    assert_eq!(stats["overdue"], 1);
    assert_eq!(stats["breached_total"], 1);
    assert_eq!(stats["answered_7d"], 3);
    assert_eq!(stats["answered_30d"], 3);
    let minutes = |k: &str| stats[k].as_f64().unwrap();
    assert!(
        (20.0..21.0).contains(&minutes("median_answer_minutes")),
        "{stats}"
    );
    assert!(
        (60.0..61.0).contains(&minutes("p90_answer_minutes")),
        "{stats}"
    );
    assert_eq!(stats["answered_within_deadline"], 0.667);
    assert_eq!(stats["bounced"], 1);
    assert_eq!(stats["by_tier"]["head"], 0);

    let first = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    problem(app.get("/api/v1/department/stats", Some(&first)).await, 403).await;
    problem(
        app.get(
            "/api/v1/department/stats?department=billing",
            Some(&network_head),
        )
        .await,
        404,
    )
    .await;
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    let p = problem(app.get("/api/v1/department/stats", Some(&saule)).await, 422).await;
    assert_eq!(fields(&p), ["department"]);
    let seen: Value = app
        .get("/api/v1/department/stats?department=billing", Some(&saule))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["answered_30d"], 3);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
