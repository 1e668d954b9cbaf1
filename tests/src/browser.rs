//! Driving Debian's Chromium through its ChromeDriver (fantoccini), for the page tests.
//!
//! Chromium runs headless with `--no-sandbox --disable-gpu --disable-background-networking` and a
//! fresh profile, so it never reaches for the network this machine does not have.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::{Mesh, WAIT, free_port, wait_until_ok};
use komek_testkit::eventually;

/// A running chromedriver, killed on drop.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `/usr/bin/chromedriver` on a free port and waits until it answers; returns its URL.
pub async fn start_chromedriver() -> (Driver, String) {
    let port = free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; `scripts/deps.sh chromium` installs it)");
    let url = format!("http://127.0.0.1:{port}");
    wait_until_ok(
        &reqwest::Client::new(),
        &format!("{url}/status"),
        WAIT,
        "chromedriver answers",
    )
    .await;
    (Driver(child), url)
}

/// A Chromium session with a fresh profile in `profile` (the caller removes it), an English
/// browser, and a window of `size` ("width,height").
pub async fn browser(webdriver: &str, profile: &Path, size: &str) -> fantoccini::Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     "--lang=en-US", format!("--window-size={size}"),
                     format!("--user-data-dir={}", profile.display())]
        }
    });
    let caps = caps
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(webdriver)
        .await
        .expect("a Chromium session")
}

/// Waits (within [`WAIT`]) until an element matching the CSS selector `css` is on the page.
pub async fn wait_for(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

/// Whether a WebDriver error says the element was replaced meanwhile: the pages re-render a panel
/// when a live push or a reload arrives, so an element found a moment ago may be gone.
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    matches!(e, fantoccini::error::CmdError::Standard(w)
        if w.error == fantoccini::error::ErrorStatus::StaleElementReference)
}

/// Finds the element at `css` and does `act` on it; finds it again and acts again while the page
/// re-renders it in between (within [`WAIT`]). `what` names the action in a failure.
async fn on_element<T, F, Fut>(c: &fantoccini::Client, css: &str, what: &str, act: F) -> T
where
    F: Fn(fantoccini::elements::Element) -> Fut,
    Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
{
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match act(wait_for(c, css).await).await {
            Ok(v) => return v,
            Err(e) if is_stale(&e) && std::time::Instant::now() < deadline => continue,
            Err(e) => panic!("{what} {css}: {e}"),
        }
    }
}

/// Clicks the element at `css`.
pub async fn click(c: &fantoccini::Client, css: &str) {
    on_element(
        c,
        css,
        "click",
        |el| async move { el.click().await.map(|_| ()) },
    )
    .await
}

/// Replaces the content of the field at `css` with `text`.
pub async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    on_element(c, css, "type into", |el| async move {
        el.clear().await?;
        el.send_keys(text).await
    })
    .await
}

/// The text of the first element matching `css`, once there.
pub async fn text_of(c: &fantoccini::Client, css: &str) -> String {
    on_element(c, css, "text of", |el| async move { el.text().await }).await
}

/// Signs `login` in on a staff page (the workspace's or the department page) and waits until the
/// page shows them signed in.
pub async fn sign_in(c: &fantoccini::Client, login: &str, password: &str) {
    wait_for(c, "#login-view:not([hidden])").await;
    type_into(c, "#login-login", login).await;
    type_into(c, "#login-password", password).await;
    click(c, "#login-submit").await;
    wait_for(c, "#app-view:not([hidden])").await;
    let who = text_of(c, "#whoami").await;
    assert!(who.contains(login), "{who}");
}

/// Polls the page until the element at `css` has a text for which `check` holds; returns it.
pub async fn wait_text(
    c: &fantoccini::Client,
    css: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let check = &check;
    eventually(WAIT, what, || async move {
        let t = c.find(Locator::Css(css)).await.ok()?.text().await.ok()?;
        check(&t).then_some(t)
    })
    .await
}

/// Waits (within [`WAIT`]) until no element matches the CSS selector `css`.
pub async fn wait_gone(c: &fantoccini::Client, css: &str, what: &str) {
    eventually(WAIT, what, || async move {
        c.find_all(Locator::Css(css))
            .await
            .ok()
            .filter(|found| found.is_empty())
            .map(|_| ())
    })
    .await;
}

/// Picks the option with `value` in the select at `css`.
pub async fn select_value(c: &fantoccini::Client, css: &str, value: &str) {
    wait_for(c, &format!("{css} option[value='{value}']")).await;
    // The options are replaced whenever the panel re-renders (fillSelect), the select kept.
    on_element(c, css, "select", |e| async move {
        e.select_by_value(value).await
    })
    .await;
}

/// The staff page of `service` (`/`, the entry module `/app.js` and one of its modules
/// `/js/state.js`, `/app.css`, and the shared `/staff.js` and `/staff.css`) is served with its
/// content types and the strict policy, and so are the enum codes it reads (`/api/v1/meta`).
pub async fn check_assets(http: &reqwest::Client, mesh: &Mesh, service: &str) {
    for (path, ty) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/js/state.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/staff.js", "text/javascript"),
        ("/staff.css", "text/css"),
    ] {
        let r = http.get(mesh.url(service, path)).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{service}{path}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(ty), "{service}{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        // Only our own origin, its live socket included: no `ws:`/`wss:` to any host.
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains("ws:"), "{csp}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert!(!csp.contains("unsafe"), "{csp}");
    }
    let meta: serde_json::Value = http
        .get(mesh.url(service, "/api/v1/meta"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["languages"],
        serde_json::json!(["kk", "ru", "en"]),
        "{meta}"
    );
}

/// Nothing on the page is wider than the phone's screen.
pub async fn fits_the_screen(c: &fantoccini::Client, page: &str) {
    let fits = "return [document.documentElement.scrollWidth, window.innerWidth];";
    let v = c.execute(fits, vec![]).await.unwrap();
    let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert!(inner <= 420, "a phone-size window: {inner}");
    assert!(
        scroll <= inner + 1,
        "{page} is wider than the screen: {scroll} > {inner}"
    );
}
