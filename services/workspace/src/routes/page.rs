//! The agents' and supervisors' page: a single-page app (`services/workspace/web/`) embedded in the
//! binary and served at `/`, `/app.js` and `/app.css`. It talks only to this service's API and
//! its live WebSocket, so the Content-Security-Policy allows nothing but this origin.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");

/// Scripts, styles and everything else from this origin only; no inline code; the API and the
/// live WebSocket (`connect-src` names `ws:`/`wss:`, which older browsers do not count as 'self').
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       font-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Small files, and a new binary may bring new ones: always revalidate.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `GET /`: the page.
pub async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /app.js`: the page's script.
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /app.css`: the page's styles.
pub async fn styles() -> HttpResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/app.js", web::get().to(script))
        .route("/app.css", web::get().to(styles));
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test as web_test};

    use super::*;

    #[actix_web::test]
    async fn the_page_and_its_assets_have_their_types_and_a_strict_policy() {
        let app = web_test::init_service(App::new().configure(configure)).await;
        for (path, ty, needle) in [
            ("/", "text/html", "<script src=\"/app.js\""),
            ("/app.js", "text/javascript", "const I18N"),
            ("/app.css", "text/css", "@media"),
        ] {
            let res =
                web_test::call_service(&app, web_test::TestRequest::get().uri(path).to_request())
                    .await;
            assert!(res.status().is_success(), "{path}");
            let h = res.headers();
            let ct = h.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
            assert!(ct.starts_with(ty), "{path}: {ct}");
            let csp = h
                .get(header::CONTENT_SECURITY_POLICY)
                .unwrap()
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'none'"), "{csp}");
            assert!(csp.contains("connect-src 'self' ws: wss:"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
            let body = web_test::read_body(res).await;
            assert!(
                std::str::from_utf8(&body).unwrap().contains(needle),
                "{path}"
            );
        }
    }

    #[test]
    fn nothing_is_loaded_from_elsewhere_and_nothing_is_inserted_as_html() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            assert!(!text.contains("http://"), "{name} names an external URL");
            assert!(!text.contains("https://"), "{name} names an external URL");
            assert!(!text.contains("@import"), "{name} imports");
        }
        assert!(
            !INDEX_HTML.contains(" style="),
            "inline styles break the CSP"
        );
        assert!(
            !INDEX_HTML.contains("<style"),
            "inline styles break the CSP"
        );
        for handler in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
            " oninput=",
            " onerror=",
        ] {
            assert!(
                !INDEX_HTML.contains(handler),
                "inline handlers break the CSP"
            );
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!APP_JS.contains(sink), "app.js uses {sink}");
        }
    }
}
