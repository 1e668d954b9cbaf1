//! Department deadlines: a breach moves an escalation up its department's chain exactly once,
//! with two replicas watching the same deadlines.

use komek_domain::escalation::{Escalation, Tier};
use komek_domain::events::{Envelope, EscalationChanged, kind};
use komek_store::Store;
use komek_web::testing::TestApp;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{WAIT, drain_queue, escalate};

/// Lets the current deadline of escalation `id` run out now: its entry in `esc:deadlines` is
/// moved to the present instead of waiting hours of the department's working time to pass.
async fn make_due(store: &Store, id: Uuid, breaches: u32) {
    let member = format!("{id}|{breaches}");
    let now = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap();
    let changed: i64 = redis::cmd("ZADD")
        .arg(store.keys().esc_deadlines())
        .arg("XX")
        .arg("CH")
        .arg(now)
        .arg(&member)
        .query_async(&mut store.conn())
        .await
        .unwrap();
    assert_eq!(changed, 1, "{member} is watched");
}

/// The `escalation.breached` events the workspace has received, once every committed event is
/// confirmed by the broker (the outbox is empty), so none is still on its way.
async fn breached_events(app: &TestApp) -> Vec<Envelope> {
    komek_testkit::eventually(WAIT, "the outbox is relayed", || {
        let store = app.store.clone();
        async move { (store.outbox_len().await.unwrap() == 0).then_some(()) }
    })
    .await;
    drain_queue(&app.settings, "workspace")
        .await
        .into_iter()
        .filter(|e| e.kind == kind::ESCALATION_BREACHED)
        .collect()
}

/// Lets the deadline of escalation `id` at `breaches` breaches run out and waits until a replica
/// has breached it; returns it and the one `escalation.breached` event the workspace got for it.
async fn breach(app: &TestApp, id: Uuid, breaches: u32) -> (Escalation, EscalationChanged) {
    make_due(&app.store, id, breaches).await;
    let what = format!("breach {} of the escalation", breaches + 1);
    let esc = komek_testkit::eventually(WAIT, &what, || {
        let store = app.store.clone();
        async move {
            store
                .escalation(id)
                .await
                .unwrap()
                .filter(|e| e.breaches > breaches)
        }
    })
    .await;
    let events = breached_events(app).await;
    assert_eq!(events.len(), 1, "one breach, one event: {events:?}");
    assert_eq!(events[0].request_id, esc.request_id);
    let p: EscalationChanged = events[0].payload().unwrap();
    assert_eq!((p.escalation_id, p.by.as_str()), (id, "system:escalation"));
    let now = app.store.escalation(id).await.unwrap().unwrap();
    assert_eq!(
        now.breaches,
        breaches + 1,
        "the other replica did not breach it again"
    );
    (now, p)
}

/// Two replicas of the service (same settings, same prefix) watch billing's deadlines. An
/// escalation's first-line deadline runs out: it moves to the second line exactly once (one
/// event to the workspace, one breach counted) with a new deadline; that one runs out too and it
/// moves to the head; when the head's runs out the agent is told once more and nothing is left
/// to watch.
#[tokio::test(flavor = "multi_thread")]
async fn a_breach_moves_up_the_chain_once_across_replicas() {
    let settings = komek_testkit::test_settings("esc-breach");
    let mut one =
        komek_web::testing::spawn(settings.clone(), komek_escalation::startup::build).await;
    let mut two =
        komek_web::testing::spawn(settings.clone(), komek_escalation::startup::build).await;
    one.store.seed_demo(|_| String::new()).await.unwrap();
    let (_, id) = escalate(&one.store, "billing").await;
    let opened = one.store.escalation(id).await.unwrap().unwrap();
    assert_eq!((opened.tier, opened.breaches), (Tier::FirstLine, 0));

    let (second, p) = breach(&one, id, 0).await;
    assert_eq!(second.tier, Tier::SecondLine);
    let due = second.due_at.expect("the second line has a deadline");
    assert!(due > OffsetDateTime::now_utc());
    assert_eq!((p.tier, p.due), (Some(Tier::SecondLine), Some(due)));
    assert_eq!(
        second
            .steps
            .iter()
            .filter(|s| s.action == "breached")
            .count(),
        1
    );

    let (head, p) = breach(&one, id, 1).await;
    assert_eq!(head.tier, Tier::Head);
    assert!(head.due_at.is_some(), "the head has a deadline too");
    assert_eq!((p.tier, p.due), (Some(Tier::Head), head.due_at));

    let (last, p) = breach(&one, id, 2).await;
    assert_eq!((last.tier, last.due_at), (Tier::Head, None));
    assert_eq!((p.tier, p.due), (Some(Tier::Head), None));
    let k = one.store.keys();
    let mut c = one.store.conn();
    let watched: u64 = redis::AsyncCommands::zcard(&mut c, k.esc_deadlines())
        .await
        .unwrap();
    let claimed: u64 = redis::AsyncCommands::zcard(&mut c, k.esc_deadlines_claimed())
        .await
        .unwrap();
    assert_eq!(
        (watched, claimed),
        (0, 0),
        "nothing left to watch above the head"
    );
    let breached: Vec<String> =
        redis::AsyncCommands::zrange(&mut c, k.department_breached("billing"), 0, -1)
            .await
            .unwrap();
    assert_eq!(breached, [id.to_string()]);
    // The breaches are counted for /metrics (the two replicas share this process's registry,
    // as other tests here may: at least these three).
    let metrics = one.get("/metrics", None).await.text().await.unwrap();
    let counted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("komek_deadline_breaches_total{kind=\"escalation\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(counted >= 3.0, "breaches counted: {counted}");

    one.stop().await;
    two.stop().await;
    komek_testkit::cleanup(&settings).await;
}

/// A claimed entry that no longer matches its escalation (registered at another breach count:
/// the escalation moved on meanwhile) only ends its claim: no breach, no event.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_entry_is_dropped_without_a_breach() {
    let mut app = crate::helpers::spawn_app("esc-stale").await;
    let (_, id) = escalate(&app.store, "network").await;
    let stale = format!("{id}|7");
    let k = app.store.keys().clone();
    let now = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap();
    let _: i64 = redis::AsyncCommands::zadd(&mut app.store.conn(), k.esc_deadlines(), &stale, now)
        .await
        .unwrap();
    komek_testkit::eventually(WAIT, "the stale entry's claim ends", || {
        let (mut c, k, stale) = (app.store.conn(), k.clone(), stale.clone());
        async move {
            let due: Option<f64> = redis::AsyncCommands::zscore(&mut c, k.esc_deadlines(), &stale)
                .await
                .unwrap();
            let claimed: Option<f64> =
                redis::AsyncCommands::zscore(&mut c, k.esc_deadlines_claimed(), &stale)
                    .await
                    .unwrap();
            (due.is_none() && claimed.is_none()).then_some(())
        }
    })
    .await;
    let esc = app.store.escalation(id).await.unwrap().unwrap();
    assert_eq!((esc.tier, esc.breaches), (Tier::FirstLine, 0));
    assert_eq!(breached_events(&app).await.len(), 0);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
