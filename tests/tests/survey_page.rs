//! The customer's survey page in a real headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use komek_e2e::{Mesh, MeshOptions};
use komek_testkit::eventually;
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_chromedriver() -> (Driver, String) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; `scripts/deps.sh chromium` installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    eventually(WAIT, "chromedriver answers", || {
        let status = status.clone();
        async move { reqwest::get(status).await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
    })
    .await;
    (Driver(child), url)
}

async fn browser(webdriver: &str) -> fantoccini::Client {
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     format!("--user-data-dir={}", profile.display())]
        }
    });
    let caps = caps.as_object().unwrap().clone().into_iter().collect();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(webdriver)
        .await
        .unwrap()
}

/// A Russian-speaking customer's request is resolved; they open the survey link from their
/// status page in Chromium, see the page in Russian, pick 2 and write a comment, and see the
/// thank-you text. The request is reopened. Opening the link again and answering once more shows
/// "already answered" instead of recording a second answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_answers_the_survey_in_chromium() {
    let mesh = Mesh::start(MeshOptions { tag: "surveypage", ..Default::default() }).await;
    let http = reqwest::Client::new();
    let accepted: Value = http
        .post(mesh.url("intake", "/api/v1/requests"))
        .json(&json!({"channel": "web", "customer": {"email": "olga@example.kz", "name": "Ольга"},
                      "text": "Не работает мобильный интернет второй день"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, number) = (accepted["id"].as_str().unwrap().to_owned(), accepted["number"].as_str().unwrap().to_owned());
    let token = http
        .post(mesh.url("workspace", "/api/v1/auth/login"))
        .json(&json!({"login": "daniyar", "password": "komek-agent"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually(WAIT, "the request is taken", || {
        let (http, url, token) = (http.clone(), mesh.url("workspace", "/api/v1/queue/next"), token.clone());
        async move { (http.post(url).bearer_auth(token).send().await.ok()?.status() == StatusCode::OK).then_some(()) }
    })
    .await;
    let r = http
        .post(mesh.url("workspace", &format!("/api/v1/requests/{id}/resolve")))
        .bearer_auth(&token)
        .json(&json!({"resolution": "Настройки APN обновлены, интернет работает."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let status_url = mesh.url("intake", &format!("/api/v1/requests/{number}/public?contact=OLGA@example.kz"));
    let survey_url: String = eventually(WAIT, "a survey link", || {
        let (http, url) = (http.clone(), status_url.clone());
        async move { http.get(url).send().await.ok()?.json::<Value>().await.ok()?["survey_url"].as_str().map(str::to_owned) }
    })
    .await;

    let (_driver, webdriver) = start_chromedriver().await;
    let c = browser(&webdriver).await;
    c.goto(&survey_url).await.unwrap();
    let title = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(title, "Komek — опрос");
    let intro = c.find(Locator::Id("intro")).await.unwrap().text().await.unwrap();
    assert!(intro.contains(&number), "{intro}");
    c.find(Locator::Css("input[name=csat][value='2']")).await.unwrap().click().await.unwrap();
    c.find(Locator::Id("comment")).await.unwrap().send_keys("Интернет снова пропал").await.unwrap();
    c.find(Locator::Id("send")).await.unwrap().click().await.unwrap();
    let msg = c.wait().for_element(Locator::XPath("//p[@id='msg' and normalize-space(text())!='']")).await.unwrap();
    assert_eq!(msg.text().await.unwrap(), "Спасибо! Ваш ответ сохранён.");

    let request_url = mesh.url("workspace", &format!("/api/v1/requests/{id}"));
    eventually(WAIT, "the request is reopened", || {
        let (http, url, token) = (http.clone(), request_url.clone(), token.clone());
        async move {
            let v: Value = http.get(url).bearer_auth(token).send().await.ok()?.json().await.ok()?;
            (v["request"]["status"] == "reopened").then_some(())
        }
    })
    .await;

    // The same link again: the page still opens, but a second answer is refused.
    c.goto(&survey_url).await.unwrap();
    c.find(Locator::Css("input[name=csat][value='5']")).await.unwrap().click().await.unwrap();
    c.find(Locator::Id("send")).await.unwrap().click().await.unwrap();
    let msg = c.wait().for_element(Locator::XPath("//p[@id='msg' and normalize-space(text())!='']")).await.unwrap();
    assert_eq!(msg.text().await.unwrap(), "На этот опрос уже ответили.");
    c.close().await.unwrap();

    let settings = mesh.settings.clone();
    drop(mesh);
    komek_testkit::cleanup(&settings).await;
}
