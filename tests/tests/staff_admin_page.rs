//! Staff administration on the supervisors' page, in a real headless Chromium: saule creates an
//! agent, who signs in; she deactivates the agent, whose token stops working at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use komek_e2e::browser::{
    self, browser, click, select_value, start_chromedriver, text_of, type_into, wait_for, wait_text,
};
use komek_e2e::{Mesh, MeshOptions};
use serde_json::json;

/// saule opens the Staff section of the supervision tab, creates the agent `nurlan` (Kazakh and
/// Russian, roaming only, level 2, capacity 3) with the form; he appears in the list and signs
/// in through the API. She deactivates him from the list: the row says so, his token gets 401
/// and his password no longer signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_creates_and_deactivates_an_agent_on_the_page() {
    let mesh = Mesh::start(MeshOptions {
        tag: "admpage",
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let (_driver, webdriver) = start_chromedriver().await;
    let profile = std::env::temp_dir().join(komek_testkit::unique("chromium"));
    let c = browser(&webdriver, &profile, "1280,1000").await;
    c.goto(&mesh.url("workspace", "/")).await.unwrap();
    browser::sign_in(&c, "saule", "komek-super").await;
    click(&c, "#tab-supervise").await;
    wait_for(&c, "#super-view:not([hidden])").await;
    // The demo staff are listed.
    wait_for(&c, "tr[data-testid='adm-row'][data-login='aigerim']").await;

    click(&c, "#adm-new").await;
    wait_for(&c, "#adm-form:not([hidden])").await;
    type_into(&c, "#adm-login", "nurlan").await;
    type_into(&c, "#adm-name", "Нұрлан Әбдіров").await;
    select_value(&c, "#adm-role", "agent").await;
    type_into(&c, "#adm-level", "2").await;
    type_into(&c, "#adm-capacity", "3").await;
    // Languages: the page's language (en) is ticked for a new person; make it kk and ru.
    for code in ["kk", "ru"] {
        let css = format!("[data-testid='adm-languages-{code}']");
        let checked = c
            .execute(
                &format!("return document.querySelector(\"{css}\").checked;"),
                vec![],
            )
            .await
            .unwrap();
        if checked != json!(true) {
            click(&c, &css).await;
        }
    }
    let en = c
        .execute(
            "return document.querySelector(\"[data-testid='adm-languages-en']\").checked;",
            vec![],
        )
        .await
        .unwrap();
    if en == json!(true) {
        click(&c, "[data-testid='adm-languages-en']").await;
    }
    click(&c, "[data-testid='adm-skills-roaming']").await;
    type_into(&c, "#adm-password", "nurlan-password-1").await;
    click(&c, "#adm-save").await;
    let row = "tr[data-testid='adm-row'][data-login='nurlan']";
    wait_for(&c, row).await;
    let status = text_of(&c, &format!("{row} [data-testid='adm-status']")).await;
    assert_eq!(status, "Active");

    let token = mesh.login(&http, "nurlan", "nurlan-password-1").await;
    let me = http
        .get(mesh.url("workspace", "/api/v1/admin/staff/nurlan"))
        .bearer_auth(mesh.login(&http, "saule", "komek-super").await)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(me["languages"], json!(["kk", "ru"]), "{me}");
    assert_eq!(me["categories"], json!(["roaming"]), "{me}");
    assert_eq!(me["level"], 2);
    assert_eq!(me["capacity"], 3);
    let queue = http
        .get(mesh.url("workspace", "/api/v1/queue"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(queue.status().as_u16(), 200);

    click(&c, &format!("{row} [data-testid='adm-deactivate']")).await;
    wait_text(
        &c,
        &format!("{row} [data-testid='adm-status']"),
        "the row says deactivated",
        |t| t == "Deactivated",
    )
    .await;
    let after = http
        .get(mesh.url("workspace", "/api/v1/queue"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 401);
    let refused = http
        .post(mesh.url("workspace", "/api/v1/auth/login"))
        .json(&json!({ "login": "nurlan", "password": "nurlan-password-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    mesh.finish().await;
}
