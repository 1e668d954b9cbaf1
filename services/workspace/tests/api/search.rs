//! Search over requests and similar resolved requests, over HTTP.

use komek_domain::{Category, Channel, Request, Status};
use komek_web::testing::{Fixture, Stage, TestApp, stored_request};
use serde_json::Value;

use crate::helpers::{SignIn, WAIT, fields, problem, spawn_app};

/// `GET /api/v1/search` with `params` properly encoded.
async fn search(app: &TestApp, token: &str, params: &[(&str, &str)]) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&app.url("/api/v1/search"), params).unwrap();
    app.http.get(url).bearer_auth(token).send().await.unwrap()
}

/// The numbers of a 200 search answer, in its order, and its total.
async fn found(resp: reqwest::Response) -> (Vec<String>, u64) {
    assert_eq!(resp.status().as_u16(), 200, "search answers 200");
    let body: Value = resp.json().await.unwrap();
    let numbers = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_owned())
        .collect();
    (numbers, body["total"].as_u64().unwrap())
}

fn numbers(rs: &[&Request]) -> Vec<String> {
    rs.iter().map(|r| r.number.0.clone()).collect()
}

/// Four requests are stored as intake stores them, and the workspace's consumer queues them (the
/// index follows: a status search finds all four queued). An agent finds them by words (any case,
/// all must match), by phone in its national spelling, by exact number, by category and channel,
/// and by creation time; pages of one come newest first with the total. Bad values are a 422
/// naming each field; an unknown parameter a 400 naming it; no token 401; department staff 403.
#[tokio::test(flavor = "multi_thread")]
async fn agents_search_requests() {
    let mut app = spawn_app("ws-search").await;
    let agent = app.login("aigerim", "komek-agent").await;
    let billing = app.login("billing1", "komek-dept").await;
    let start = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let f = Fixture::default;
    let a = stored_request(
        &app.store,
        "Почему списали деньги с баланса?",
        Channel::CallCenter,
        f(),
    )
    .await;
    let b = stored_request(
        &app.store,
        "Не работает мобильный интернет",
        Channel::Web,
        Fixture {
            msisdn: "+77051112233",
            category: Category::Internet,
            ..f()
        },
    )
    .await;
    let c = stored_request(
        &app.store,
        "Интернет жоқ, ақша алынды",
        Channel::Sms,
        Fixture {
            category: Category::Internet,
            ..f()
        },
    )
    .await;
    let d = stored_request(
        &app.store,
        "Roaming in Turkey does not work",
        Channel::Web,
        Fixture {
            msisdn: "+77771234567",
            category: Category::Roaming,
            ..f()
        },
    )
    .await;

    let queued = komek_testkit::eventually(WAIT, "the consumer queues the four requests", || {
        let (app, agent) = (&app, &agent);
        async move {
            let (ns, total) = found(search(app, agent, &[("status", "queued")]).await).await;
            (total == 4).then_some(ns)
        }
    })
    .await;
    assert_eq!(queued, numbers(&[&d, &c, &b, &a]), "newest first");
    let (_, left_new) = found(search(&app, &agent, &[("status", "new")]).await).await;
    assert_eq!(
        left_new, 0,
        "each left status:new as it entered status:queued"
    );

    assert_eq!(
        found(search(&app, &agent, &[("words", "ИНТЕРНЕТ")]).await).await,
        (numbers(&[&c, &b]), 2)
    );
    assert_eq!(
        found(search(&app, &agent, &[("words", "интернет ақша")]).await).await,
        (numbers(&[&c]), 1)
    );
    assert_eq!(
        found(search(&app, &agent, &[("phone", "8 705 111 22 33")]).await).await,
        (numbers(&[&b]), 1)
    );
    assert_eq!(
        found(search(&app, &agent, &[("phone", "+77011234567")]).await).await,
        (numbers(&[&c, &a]), 2)
    );
    assert_eq!(
        found(search(&app, &agent, &[("number", &d.number.0)]).await).await,
        (numbers(&[&d]), 1)
    );
    assert_eq!(
        found(
            search(
                &app,
                &agent,
                &[("category", "internet"), ("channel", "sms")]
            )
            .await
        )
        .await,
        (numbers(&[&c]), 1)
    );
    let from = start
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        found(search(&app, &agent, &[("created_from", &from)]).await)
            .await
            .1,
        4
    );
    assert_eq!(
        found(search(&app, &agent, &[("created_to", &from)]).await)
            .await
            .1,
        0
    );
    assert_eq!(
        found(search(&app, &agent, &[("owner", "aigerim")]).await)
            .await
            .1,
        0
    );

    let resp = search(&app, &agent, &[("per_page", "1"), ("page", "2")]).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            body["total"].as_u64(),
            body["page"].as_u64(),
            body["per_page"].as_u64()
        ),
        (Some(4), Some(2), Some(1))
    );
    assert_eq!(body["items"][0]["number"], c.number.0.as_str());
    assert_eq!(body["items"][0]["status"], "queued");

    let p = problem(
        search(
            &app,
            &agent,
            &[
                ("status", "done"),
                ("phone", "12345"),
                ("per_page", "1000"),
                ("created_from", "yesterday"),
                ("words", "и в"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&p),
        ["phone", "words", "status", "created_from", "per_page"]
    );
    assert_eq!(p["code"], "invalid_fields");
    let p = problem(search(&app, &agent, &[("colour", "red")]).await, 400).await;
    assert_eq!(fields(&p), ["colour"]);
    problem(app.get("/api/v1/search", None).await, 401).await;
    problem(search(&app, &billing, &[]).await, 403).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// Beside an open request about mobile internet, the workspace suggests the resolved requests
/// sharing the most words with it, best first, with their resolutions and scores; a resolved
/// request about something else and an open one with the same words are not suggested. At most
/// five come back. An unknown request is a 404.
#[tokio::test(flavor = "multi_thread")]
async fn similar_resolved_requests_are_suggested() {
    let mut app = spawn_app("ws-similar").await;
    let agent = app.login("aigerim", "komek-agent").await;
    let f = Fixture::default;
    let resolved = |resolution: &str| Fixture {
        stage: Stage::Resolved {
            agent: "daniyar".into(),
            resolution: resolution.into(),
        },
        ..f()
    };
    let open = stored_request(
        &app.store,
        "Мобильный интернет не работает дома",
        Channel::Web,
        f(),
    )
    .await;
    let best = stored_request(
        &app.store,
        "Дома не работает мобильный интернет",
        Channel::Web,
        resolved("Сбросили APN"),
    )
    .await;
    let next = stored_request(
        &app.store,
        "Интернет медленно работает",
        Channel::Sms,
        resolved("Сменили тариф"),
    )
    .await;
    stored_request(
        &app.store,
        "Списали деньги за роуминг",
        Channel::Web,
        resolved("Вернули деньги"),
    )
    .await;
    stored_request(
        &app.store,
        "Мобильный интернет не работает дома, снова",
        Channel::Web,
        f(),
    )
    .await;
    for i in 0..5 {
        let text = format!("Интернет пропал, случай {i}");
        stored_request(
            &app.store,
            &text,
            Channel::Web,
            resolved("Перезагрузили базовую станцию"),
        )
        .await;
    }

    let resp = app
        .get(
            &format!("/api/v1/requests/{}/similar", open.id),
            Some(&agent),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let similar: Value = resp.json().await.unwrap();
    let similar = similar.as_array().unwrap();
    assert_eq!(similar.len(), 5, "at most five: {similar:?}");
    assert_eq!(similar[0]["id"], best.id.to_string());
    assert_eq!(similar[0]["number"], best.number.0.as_str());
    assert_eq!(similar[0]["text"], best.text.as_str());
    assert_eq!(similar[0]["resolution"], "Сбросили APN");
    assert_eq!(similar[0]["score"], 4.0);
    assert_eq!(similar[1]["id"], next.id.to_string());
    assert_eq!(similar[1]["score"], 2.0);
    for s in &similar[2..] {
        assert_eq!(s["score"], 1.0);
        assert_eq!(s["resolution"], "Перезагрузили базовую станцию");
    }
    let stored = app.store.request(best.id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Resolved);

    problem(
        app.get(
            "/api/v1/requests/0190f3a0-0000-7000-8000-000000000000/similar",
            Some(&agent),
        )
        .await,
        404,
    )
    .await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
