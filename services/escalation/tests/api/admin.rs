//! Departments and their staff as data: supervisors manage every department, a head their own,
//! first-line staff nothing; bad hours and deadlines name their field; the demo seed.

use std::collections::BTreeSet;

use komek_domain::Category;
use komek_domain::staff::Role;
use serde_json::{Value, json};

use komek_domain::events::{AdminChange, kind};

use crate::helpers::{StaffTokens, drain_until, fields, ok_json, problem, spawn_app};

fn billing_hours() -> Value {
    json!({ "working_days": [1, 2, 3, 4, 5], "open": "09:00", "close": "18:00" })
}

/// A supervisor creates a fraud department with its hours and deadlines (201), reads it back,
/// renames it (200), then gives it a first-line member with a password (201; no hash in the
/// answer, an argon2 hash in the store), raises them to second line without a password (200,
/// the hash stays) and lists the department's staff. A new login without a password is 422.
#[tokio::test(flavor = "multi_thread")]
async fn a_supervisor_creates_and_updates_a_department_and_its_staff() {
    let mut app = spawn_app("admin-super").await;
    // A copy of every event from here on, before the first change is published.
    komek_testkit::tap(&app.settings).await;
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    let body = json!({
        "name": "Fraud",
        "hours": billing_hours(),
        "deadlines": { "default_minutes": 300, "by_category": { "billing": 120 } }
    });
    let created = ok_json(
        app.put("/api/v1/departments/fraud", Some(&saule), &body)
            .await,
        201,
    )
    .await;
    assert_eq!(created["code"], "fraud");
    assert_eq!(created["deadlines"]["by_category"]["billing"], 120);
    let stored = app.store.department("fraud").await.unwrap().unwrap();
    assert_eq!(stored.deadlines.minutes_for(Some(Category::Billing)), 120);
    assert_eq!(stored.deadlines.minutes_for(Some(Category::Network)), 300);
    assert_eq!(stored.hours.unwrap().close, "18:00");

    let renamed = ok_json(
        app.put(
            "/api/v1/departments/fraud",
            Some(&saule),
            &json!({ "name": "Fraud prevention", "hours": billing_hours() }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Fraud prevention");
    assert_eq!(
        renamed["deadlines"]["default_minutes"], 480,
        "deadlines left out are the defaults: the record is replaced"
    );
    let read = ok_json(
        app.get("/api/v1/departments/fraud", Some(&saule)).await,
        200,
    )
    .await;
    assert_eq!(read, renamed);
    let all = ok_json(app.get("/api/v1/departments", Some(&saule)).await, 200).await;
    assert!(all.as_array().unwrap().iter().any(|d| d == &renamed));

    let staff = json!({ "name": "Ерлан", "department": "fraud", "level": 1,
        "languages": ["kk", "ru"], "password": "fraud-pass-1" });
    let view = ok_json(
        app.put("/api/v1/staff/fraud1", Some(&saule), &staff).await,
        201,
    )
    .await;
    assert_eq!(
        (&view["role"], &view["department"], &view["level"]),
        (&json!("department_staff"), &json!("fraud"), &json!(1))
    );
    assert!(view.get("password_hash").is_none(), "{view}");
    let hash = app
        .store
        .user("fraud1")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(komek_auth::verify_password("fraud-pass-1", &hash));

    let raised = json!({ "name": "Ерлан", "department": "fraud", "level": 2, "languages": ["kk"] });
    let view = ok_json(
        app.put("/api/v1/staff/fraud1", Some(&saule), &raised).await,
        200,
    )
    .await;
    assert_eq!(view["level"], 2);
    let stored = app.store.user("fraud1").await.unwrap().unwrap();
    assert_eq!(
        stored.password_hash, hash,
        "an update without a password keeps it"
    );
    let list = ok_json(
        app.get("/api/v1/departments/fraud/staff", Some(&saule))
            .await,
        200,
    )
    .await;
    assert_eq!(list, json!([view]));

    let p = problem(
        app.put("/api/v1/staff/fraud2", Some(&saule), &raised).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["password"]);
    assert!(app.store.user("fraud2").await.unwrap().is_none());

    // Every accepted change is on the record (the test's tap gets every event): who changed
    // what, created or updated, and the value stored; the refused one left nothing, and no
    // password hash is in it.
    let audit = drain_until(&app.settings, "tap", 4).await;
    let record: Vec<(String, String, String, String)> = audit
        .iter()
        .map(|e| {
            let c: AdminChange = e.payload().unwrap();
            assert!(e.request_id.0.is_nil());
            assert!(!c.value.to_string().contains("argon2"), "{}", c.value);
            (e.kind.clone(), c.subject, c.action, c.by)
        })
        .collect();
    let row =
        |k: &str, s: &str, a: &str| (k.to_owned(), s.to_owned(), a.to_owned(), "saule".to_owned());
    assert_eq!(
        record,
        [
            row(kind::DEPARTMENT_CHANGED, "fraud", "created"),
            row(kind::DEPARTMENT_CHANGED, "fraud", "updated"),
            row(kind::STAFF_CHANGED, "fraud1", "created"),
            row(kind::STAFF_CHANGED, "fraud1", "updated"),
        ]
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The billing head edits billing's hours and adds a second-line member to billing, but may not
/// touch network, nor put anyone into network, nor take network's staff. Demoted to second line
/// by a supervisor, the same token is refused at once: the stored level counts.
#[tokio::test(flavor = "multi_thread")]
async fn a_head_manages_only_their_own_department() {
    let mut app = spawn_app("admin-head").await;
    app.store.seed_demo(|_| String::new()).await.unwrap();
    let head = app
        .staff("billing-head", Role::DepartmentStaff, Some("billing"), 3)
        .await;
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;

    let billing = json!({ "name": "Billing", "hours": billing_hours(),
        "deadlines": { "default_minutes": 180 } });
    ok_json(
        app.put("/api/v1/departments/billing", Some(&head), &billing)
            .await,
        200,
    )
    .await;
    let stored = app.store.department("billing").await.unwrap().unwrap();
    assert_eq!(stored.deadlines.default_minutes, 180);

    let network_before = app.store.department("network").await.unwrap();
    let p = problem(
        app.put(
            "/api/v1/departments/network",
            Some(&head),
            &json!({ "name": "Ours now" }),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");
    assert_eq!(
        app.store.department("network").await.unwrap(),
        network_before
    );

    let second = json!({ "name": "Billing, second line", "department": "billing", "level": 2,
        "languages": ["ru"], "password": "billing-pass" });
    ok_json(
        app.put("/api/v1/staff/billing-b2", Some(&head), &second)
            .await,
        201,
    )
    .await;

    let into_network = json!({ "name": "Spy", "department": "network", "level": 1,
        "languages": ["ru"], "password": "network-pass" });
    problem(
        app.put("/api/v1/staff/spy", Some(&head), &into_network)
            .await,
        403,
    )
    .await;
    let take = json!({ "name": "network1", "department": "billing", "level": 1,
        "languages": ["ru"] });
    problem(
        app.put("/api/v1/staff/network1", Some(&head), &take).await,
        403,
    )
    .await;
    assert_eq!(
        app.store
            .user("network1")
            .await
            .unwrap()
            .unwrap()
            .department
            .as_deref(),
        Some("network")
    );
    problem(
        app.get("/api/v1/departments/network/staff", Some(&head))
            .await,
        403,
    )
    .await;

    let demote = json!({ "name": "billing-head", "department": "billing", "level": 2,
        "languages": ["ru"] });
    ok_json(
        app.put("/api/v1/staff/billing-head", Some(&saule), &demote)
            .await,
        200,
    )
    .await;
    problem(
        app.put("/api/v1/departments/billing", Some(&head), &billing)
            .await,
        403,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Hours that do not parse, close before open, a weekday 8, minutes out of range, a level 4:
/// 422, each naming its field.
#[tokio::test(flavor = "multi_thread")]
async fn bad_hours_and_deadlines_name_the_field() {
    let mut app = spawn_app("admin-422").await;
    let saule = app.staff("saule", Role::Supervisor, None, 2).await;
    let cases = [
        (
            json!({ "name": "X", "hours": { "working_days": [1], "open": "9am", "close": "18:00" } }),
            vec!["hours.open"],
        ),
        (
            json!({ "name": "X", "hours": { "working_days": [1], "open": "18:00", "close": "09:00" } }),
            vec!["hours.close"],
        ),
        (
            json!({ "name": "X", "hours": { "working_days": [8], "open": "09:00", "close": "18:00" } }),
            vec!["hours.working_days"],
        ),
        (
            json!({ "name": "", "deadlines": { "default_minutes": 0,
                "by_category": { "roaming": 100001 } } }),
            vec![
                "name",
                "deadlines.default_minutes",
                "deadlines.by_category.roaming",
            ],
        ),
    ];
    for (body, want) in cases {
        let p = problem(
            app.put("/api/v1/departments/fraud", Some(&saule), &body)
                .await,
            422,
        )
        .await;
        assert_eq!(fields(&p), want, "{body}");
    }
    assert!(app.store.department("fraud").await.unwrap().is_none());

    app.store.seed_demo(|_| String::new()).await.unwrap();
    let p = problem(
        app.put(
            "/api/v1/staff/billing9",
            Some(&saule),
            &json!({ "name": "B", "department": "billing", "level": 4, "languages": [],
                "password": "long-enough-pw" }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["level", "languages"]);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// First-line staff read their department's staff but change nothing (403); an agent is refused
/// too; a token whose account no longer exists is not even admitted (401).
#[tokio::test(flavor = "multi_thread")]
async fn first_line_staff_and_agents_are_forbidden() {
    let mut app = spawn_app("admin-403").await;
    app.store.seed_demo(|_| String::new()).await.unwrap();
    let first = app
        .staff("billing1", Role::DepartmentStaff, Some("billing"), 1)
        .await;
    let agent = app.staff("aigerim", Role::Agent, None, 2).await;
    let gone = app.token("ghost", Role::Supervisor, None).await;
    let dept = json!({ "name": "Billing" });
    let staff = json!({ "name": "B", "department": "billing", "level": 1, "languages": ["ru"],
        "password": "long-enough" });
    problem(
        app.put("/api/v1/departments/billing", Some(&gone), &dept)
            .await,
        401,
    )
    .await;
    for token in [&first, &agent] {
        let p = problem(
            app.put("/api/v1/departments/billing", Some(token), &dept)
                .await,
            403,
        )
        .await;
        assert_eq!(p["code"], "forbidden");
        problem(
            app.put("/api/v1/staff/billing7", Some(token), &staff).await,
            403,
        )
        .await;
    }
    assert!(app.store.user("billing7").await.unwrap().is_none());
    assert_eq!(
        app.store
            .department("billing")
            .await
            .unwrap()
            .unwrap()
            .deadlines
            .default_minutes,
        240
    );
    let list = ok_json(
        app.get("/api/v1/departments/billing/staff", Some(&first))
            .await,
        200,
    )
    .await;
    let logins: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["billing-head", "billing1", "billing2"]);
    problem(
        app.get("/api/v1/departments/billing/staff", Some(&agent))
            .await,
        403,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The demo seed: every department with its hours and deadlines (network round the clock with two
/// hours for outages), billing, network and roaming with a whole chain (levels 1, 2, 3), the
/// other departments' staff at first line. Seeding again changes nothing that is there.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_seed_gives_departments_hours_deadlines_and_chains() {
    let mut app = spawn_app("admin-seed").await;
    let store = &app.store;
    store.seed_demo(|_| "hash".to_owned()).await.unwrap();

    let codes: Vec<String> = store
        .departments()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(
        codes,
        [
            "billing", "finance", "legal", "network", "roaming", "sales", "vas"
        ]
    );
    let network = store.department("network").await.unwrap().unwrap();
    let hours = network.hours.clone().unwrap();
    assert_eq!(
        (
            hours.working_days.len(),
            hours.open.as_str(),
            hours.close.as_str()
        ),
        (7, "00:00", "24:00")
    );
    assert_eq!(network.deadlines.minutes_for(Some(Category::Internet)), 120);
    assert_eq!(network.deadlines.minutes_for(Some(Category::Billing)), 240);
    let billing = store.department("billing").await.unwrap().unwrap();
    assert_eq!(billing.hours.unwrap().working_days, [1, 2, 3, 4, 5]);
    assert_eq!(
        store
            .department("legal")
            .await
            .unwrap()
            .unwrap()
            .deadlines
            .default_minutes,
        2400
    );
    for d in store.departments().await.unwrap() {
        if let Some(h) = &d.hours {
            komek_domain::calendar::Calendar::new("UTC", &h.working_days, &h.open, &h.close, &[])
                .unwrap_or_else(|e| panic!("{}: {e}", d.code));
        }
    }

    for dept in ["billing", "network", "roaming"] {
        let levels: BTreeSet<u8> = store
            .department_staff(dept)
            .await
            .unwrap()
            .iter()
            .map(|u| u.level)
            .collect();
        assert_eq!(levels, BTreeSet::from([1, 2, 3]), "{dept}");
    }
    for (login, level) in [
        ("billing1", 1),
        ("network1", 1),
        ("finance1", 1),
        ("legal1", 1),
        ("roaming2", 2),
        ("network-head", 3),
    ] {
        let u = store.user(login).await.unwrap().unwrap();
        assert_eq!((u.role, u.level), (Role::DepartmentStaff, level), "{login}");
    }

    let mut changed = store.department("billing").await.unwrap().unwrap();
    changed.deadlines.default_minutes = 60;
    store.put_department(&changed, None).await.unwrap();
    assert_eq!(
        store.seed_demo(|_| "other".to_owned()).await.unwrap(),
        0,
        "nobody is added twice"
    );
    assert_eq!(store.department("billing").await.unwrap().unwrap(), changed);
    assert_eq!(
        store.user("billing2").await.unwrap().unwrap().password_hash,
        "hash"
    );

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
