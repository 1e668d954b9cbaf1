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
        let (request, token) = resolve(&app.store, lang).await;
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
