//! `GET /s/{token}`: the survey page a customer opens from the link.

use komek_domain::Lang;

use crate::helpers::{SurveyCalls, resolve, spawn_app};

async fn html(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    resp.text().await.unwrap()
}

/// A Kazakh-speaking and an English-speaking customer each get their request resolved; the
/// `request.resolved` events go through the outbox and the relay to the survey consumer, which
/// creates one survey each. Each link opens a page in the customer's language that names their
/// request number.
#[tokio::test(flavor = "multi_thread")]
async fn survey_page_in_the_customers_language() {
    let mut app = spawn_app("survey-page").await;
    for (lang, code, intro) in [
        (Lang::Kk, "kk", "бойынша қызмет көрсету сапасын бағалаңыз"),
        (
            Lang::Ru,
            "ru",
            "Оцените, пожалуйста, качество обслуживания по обращению",
        ),
        (
            Lang::En,
            "en",
            "Please rate the service you received for request",
        ),
    ] {
        let (request, token) = resolve(&app.store, &app.settings, lang).await;
        let page = html(app.page(&token).await, 200).await;
        assert!(page.contains(&format!(r#"<html lang="{code}">"#)), "{page}");
        assert!(page.contains(intro), "{code}: {page}");
        assert!(
            page.contains(&request.number.0),
            "the page names {}",
            request.number
        );
    }

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// A token nobody was given (well-formed, or not even that) gets the 404 page.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_token_is_404() {
    let mut app = spawn_app("survey-404").await;
    let made_up = "A".repeat(43);
    let page = html(app.page(&made_up).await, 404).await;
    assert!(page.contains("Survey not found"), "{page}");
    html(app.page("short").await, 404).await;

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}

/// The page's own form, without JavaScript: a post with no score is shown again with what to
/// correct (422), a score is recorded and thanked for (200) with the same headers as the page, a
/// second answer is refused on the page (409), and the answer is the one the JSON API would see.
#[tokio::test(flavor = "multi_thread")]
async fn the_form_posts_without_javascript() {
    let mut app = spawn_app("survey-form").await;
    let (_, token) = resolve(&app.store, &app.settings, Lang::Ru).await;
    let http = reqwest::Client::new();
    let post = |body: &'static str| {
        http.post(app.url(&format!("/s/{token}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    let page = post("comment=%3Cb%3Ex").await.unwrap();
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(csp, komek_web::html::CSP);
    let page = html(page, 422).await;
    assert!(page.contains("Выберите оценку."), "{page}");
    assert!(
        page.contains("&#60;b&#62;x</textarea>"),
        "the comment is kept: {page}"
    );

    let page = html(post("csat=4&comment=").await.unwrap(), 200).await;
    assert!(page.contains("Спасибо! Ваш ответ сохранён."), "{page}");
    assert!(!page.contains("<form"), "{page}");

    let page = html(post("csat=1").await.unwrap(), 409).await;
    assert!(page.contains("На этот опрос уже ответили."), "{page}");

    let again = app.respond(&token, &serde_json::json!({ "csat": 5 })).await;
    assert_eq!(again.status().as_u16(), 409);

    app.stop().await;
    komek_testkit::cleanup(&app.settings).await;
}
