//! The customer's survey page in a real headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use komek_e2e::browser::{browser, start_chromedriver};
use komek_e2e::{Mesh, MeshOptions};
use serde_json::{Value, json};

/// The text of the element at `at` on the open page.
async fn text_of(c: &fantoccini::Client, at: Locator<'_>) -> String {
    c.find(at).await.unwrap().text().await.unwrap()
}

/// On the open survey page: picks `csat`, writes `comment` if any, sends, and returns the message
/// the page shows then.
async fn answer(c: &fantoccini::Client, csat: u8, comment: Option<&str>) -> String {
    c.find(Locator::Css(&format!("input[name=csat][value='{csat}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if let Some(comment) = comment {
        c.find(Locator::Id("comment"))
            .await
            .unwrap()
            .send_keys(comment)
            .await
            .unwrap();
    }
    c.find(Locator::Id("send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::XPath(
            "//p[@id='msg' and normalize-space(text())!='']",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A Russian-speaking customer's request is resolved; they open the survey link from their
/// status page in Chromium, see the page in Russian, pick 2 and write a comment, and see the
/// thank-you text. The request is reopened. Opening the link again and answering once more shows
/// "already answered" instead of recording a second answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_answers_the_survey_in_chromium() {
    let mesh = Mesh::start(MeshOptions {
        tag: "surveypage",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let accepted: Value = http
        .post(mesh.url("intake", "/api/v1/requests"))
        .json(
            &json!({"channel": "web", "customer": {"email": "olga@example.kz", "name": "Ольга"},
                      "text": "Не работает мобильный интернет второй день"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, number) = (
        accepted["id"].as_str().unwrap().to_owned(),
        accepted["number"].as_str().unwrap().to_owned(),
    );
    let token = mesh.login(&http, "daniyar", "komek-agent").await;
    mesh.take_next(&http, &token).await;
    let resolution = "Настройки APN обновлены, интернет работает.";
    mesh.resolve(&http, &token, &id, resolution).await;
    let survey_url = mesh.survey_url(&http, &number, "OLGA@example.kz").await;

    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&survey_url).await.unwrap();
    let title = text_of(&c, Locator::Css("h1")).await;
    assert_eq!(title, "Komek — опрос");
    let intro = text_of(&c, Locator::Id("intro")).await;
    assert!(intro.contains(&number), "{intro}");
    let msg = answer(&c, 2, Some("Интернет снова пропал")).await;
    assert_eq!(msg, "Спасибо! Ваш ответ сохранён.");

    mesh.wait_for_status(&http, &token, &id, "reopened", "the request is reopened")
        .await;

    // The same link again: the page still opens, but a second answer is refused.
    c.goto(&survey_url).await.unwrap();
    let msg = answer(&c, 5, None).await;
    assert_eq!(msg, "На этот опрос уже ответили.");
    c.close().await.unwrap();

    mesh.finish().await;
}
