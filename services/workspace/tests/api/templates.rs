//! Reply templates: agents read them and get them filled in for a request; only supervisors write them.

use komek_domain::ack::format_local;
use komek_domain::{Category, Channel, Lang, Request};
use komek_store::requests::Mutation;
use komek_web::testing::{Fixture, TestApp, stored_request};
use serde_json::json;

use crate::helpers::{SignIn, fields, ok_json, problem, spawn_app};

/// The seeded templates cover billing, network, internet, roaming and other in kk, ru and en, and
/// agents list them, all or by category and language (an unknown category is a 422 naming it, an
/// unknown parameter a 400). Department staff may not read them. Agents get 403 on creating,
/// replacing and deleting. A supervisor's body with an unknown field is a 400 naming it; a bad
/// category, an empty name and an unknown placeholder are one 422 naming all three. A good one is
/// created (201, by `saule`), listed, replaced (200), and deleted (204); then it is gone (404).
#[tokio::test(flavor = "multi_thread")]
async fn agents_read_templates_and_only_supervisors_write_them() {
    let mut app = spawn_app("ws-tpl-crud").await;
    let agent = app.login("aigerim", "komek-agent").await;
    let supervisor = app.login("saule", "komek-super").await;
    let billing = app.login("billing1", "komek-dept").await;

    let all = ok_json(app.get("/api/v1/templates", Some(&agent)).await, 200).await;
    let all = all.as_array().unwrap();
    for category in ["billing", "network", "internet", "roaming", "other"] {
        for language in ["kk", "ru", "en"] {
            assert!(
                all.iter()
                    .any(|t| t["category"] == category && t["language"] == language),
                "a seeded {category}/{language} template"
            );
        }
    }
    let kk_billing = ok_json(
        app.get(
            "/api/v1/templates?category=billing&language=kk",
            Some(&agent),
        )
        .await,
        200,
    )
    .await;
    let kk_billing = kk_billing.as_array().unwrap();
    assert!(!kk_billing.is_empty());
    assert!(
        kk_billing
            .iter()
            .all(|t| t["category"] == "billing" && t["language"] == "kk")
    );
    assert!(
        kk_billing[0]["body"]
            .as_str()
            .unwrap()
            .contains("{customer_name}")
    );

    let p = problem(
        app.get("/api/v1/templates?category=food", Some(&agent))
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["category"]);
    let p = problem(
        app.get("/api/v1/templates?lang=kk", Some(&agent)).await,
        400,
    )
    .await;
    assert_eq!(fields(&p), ["lang"]);
    problem(app.get("/api/v1/templates", Some(&billing)).await, 403).await;
    problem(app.get("/api/v1/templates", None).await, 401).await;

    let good = json!({
        "category": "tariff",
        "language": "ru",
        "name": "Смена тарифа",
        "body": "{customer_name}, здравствуйте! Тариф по обращению {number} сменится до {deadline}.",
    });
    let some_id = all[0]["id"].as_str().unwrap().to_owned();
    let p = problem(
        app.post("/api/v1/templates", Some(&agent), &good).await,
        403,
    )
    .await;
    assert_eq!(p["code"], "forbidden");
    problem(
        app.put(&format!("/api/v1/templates/{some_id}"), Some(&agent), &good)
            .await,
        403,
    )
    .await;
    problem(
        app.delete(&format!("/api/v1/templates/{some_id}"), Some(&agent))
            .await,
        403,
    )
    .await;

    let mut extra = good.clone();
    extra["colour"] = json!("red");
    let p = problem(
        app.post("/api/v1/templates", Some(&supervisor), &extra)
            .await,
        400,
    )
    .await;
    assert_eq!(fields(&p), ["colour"]);
    let bad =
        json!({ "category": "food", "language": "ru", "name": "  ", "body": "Обращение {numbr}" });
    let p = problem(
        app.post("/api/v1/templates", Some(&supervisor), &bad).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["category", "name", "body"]);
    assert!(
        p["errors"][2]["message"]
            .as_str()
            .unwrap()
            .contains("{numbr}"),
        "{p}"
    );

    let created = ok_json(
        app.post("/api/v1/templates", Some(&supervisor), &good)
            .await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["updated_by"], "saule");
    assert_eq!(created["category"], "tariff");
    assert_eq!(created["body"], good["body"]);
    let tariff = ok_json(
        app.get("/api/v1/templates?category=tariff", Some(&agent))
            .await,
        200,
    )
    .await;
    assert_eq!(tariff.as_array().unwrap().len(), 1);
    assert_eq!(tariff[0]["id"], id.as_str());

    let mut changed = good.clone();
    changed["body"] = json!("{customer_name}, тариф по обращению {number} уже сменён.");
    changed["language"] = json!("RU");
    let replaced = ok_json(
        app.put(
            &format!("/api/v1/templates/{id}"),
            Some(&supervisor),
            &changed,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replaced["id"], id.as_str());
    assert_eq!(replaced["language"], "ru");
    assert_eq!(replaced["body"], changed["body"]);
    let stored = app
        .store
        .template(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.body, changed["body"].as_str().unwrap());

    let missing = "/api/v1/templates/0190f3a0-0000-7000-8000-000000000000";
    problem(app.put(missing, Some(&supervisor), &good).await, 404).await;
    problem(
        app.put("/api/v1/templates/not-a-uuid", Some(&supervisor), &good)
            .await,
        404,
    )
    .await;

    let gone = app
        .delete(&format!("/api/v1/templates/{id}"), Some(&supervisor))
        .await;
    assert_eq!(gone.status().as_u16(), 204);
    problem(
        app.delete(&format!("/api/v1/templates/{id}"), Some(&supervisor))
            .await,
        404,
    )
    .await;
    let tariff = ok_json(
        app.get("/api/v1/templates?category=tariff", Some(&agent))
            .await,
        200,
    )
    .await;
    assert!(tariff.as_array().unwrap().is_empty());

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Sets the customer's name on a stored request, as a later contact would.
async fn name_customer(app: &TestApp, r: &Request, name: &str) {
    app.store
        .update_request(r.id, None, |r| {
            r.customer.name = Some(name.to_owned());
            let change = Request::record(
                "agent:test",
                "customer_named",
                None,
                time::OffsetDateTime::now_utc(),
            );
            Ok::<_, std::convert::Infallible>(Mutation {
                change,
                event: None,
                ops: vec![],
            })
        })
        .await
        .unwrap();
}

/// A Kazakh billing request gets the Kazakh billing templates filled in: its number, its deadline
/// in Kazakhstan time, and, with no customer name known, the polite "Құрметті клиент"; once the
/// name is known, the name. A Russian tariff request (no tariff templates) gets the Russian
/// `other` ones. An unknown request is a 404.
#[tokio::test(flavor = "multi_thread")]
async fn templates_are_filled_in_for_a_request() {
    let mut app = spawn_app("ws-tpl-render").await;
    let agent = app.login("aigerim", "komek-agent").await;
    let kk = stored_request(
        &app.store,
        "Менің шотымнан ақша екі рет алынды",
        Channel::Sms,
        Fixture {
            category: Category::Billing,
            language: Some(Lang::Kk),
            ..Fixture::default()
        },
    )
    .await;
    let path = format!("/api/v1/requests/{}/templates", kk.id);

    let rendered = ok_json(app.get(&path, Some(&agent)).await, 200).await;
    let rendered = rendered.as_array().unwrap();
    let seeded = app
        .store
        .list_templates(Some(Category::Billing), Some(Lang::Kk))
        .await
        .unwrap();
    assert_eq!(rendered.len(), seeded.len());
    assert_eq!(rendered[0]["id"], seeded[0].id.to_string());
    assert_eq!(rendered[0]["name"], seeded[0].name.as_str());
    let text = rendered[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Құрметті клиент, сәлеметсіз бе!"),
        "{text}"
    );
    assert!(text.contains(&kk.number.0), "{text}");
    assert!(text.contains(&format_local(kk.due.resolution)), "{text}");
    assert!(
        !text.contains('{'),
        "every placeholder is filled in: {text}"
    );

    name_customer(&app, &kk, "Асқар").await;
    let rendered = ok_json(app.get(&path, Some(&agent)).await, 200).await;
    assert!(
        rendered[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Асқар, сәлеметсіз бе!"),
        "{rendered}"
    );

    let ru = stored_request(
        &app.store,
        "Хочу сменить тариф",
        Channel::Web,
        Fixture {
            category: Category::Tariff,
            ..Fixture::default()
        },
    )
    .await;
    let rendered = ok_json(
        app.get(
            &format!("/api/v1/requests/{}/templates", ru.id),
            Some(&agent),
        )
        .await,
        200,
    )
    .await;
    let other_ru = app
        .store
        .list_templates(Some(Category::Other), Some(Lang::Ru))
        .await
        .unwrap();
    assert_eq!(rendered.as_array().unwrap().len(), other_ru.len());
    assert!(
        rendered[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Уважаемый клиент, здравствуйте!"),
        "{rendered}"
    );

    problem(
        app.get(
            "/api/v1/requests/0190f3a0-0000-7000-8000-000000000000/templates",
            Some(&agent),
        )
        .await,
        404,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
